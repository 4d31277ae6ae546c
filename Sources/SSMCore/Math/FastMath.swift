#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Branch-free `Float` transcendental functions written so the compiler can vectorise loops over
/// them (the C library's `expf`/`erff` are opaque calls). Accuracy is checked in `FastMathTests`
/// against the C library: `fastExp` within 2 ulp-scale relative error (≈ 3e-7), `fastErf` within
/// 3e-7 absolute.
public enum FastMath {
    /// `e^x`, for `x` in [-87.3, 88.3] (clamped outside: tiny or huge but finite).
    ///
    /// `x = n·ln2 + r` with `|r| ≤ ln2/2` (Cody–Waite split of ln 2), `e^r` by a degree-6
    /// Taylor/minimax polynomial, `2^n` by building the exponent bits.
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.3), 88.3)
        // Round to nearest with the 1.5·2²³ trick (no libm call, so loops vectorise): the integer
        // lands in the low mantissa bits of `shifted`.
        let shifted = xc * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        let r = (xc - n * 0.693_145_75) - n * 1.428_606_8e-6
        // e^r ≈ 1 + r + r²/2 + … + r⁶/720 (|r| ≤ 0.347: truncation error < 2e-8 relative)
        var p: Float = 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let bits = (shifted.bitPattern &- 0x4B40_0000 &+ 127) << 23
        return p * Float(bitPattern: bits)
    }

    /// `erf(x)`: Abramowitz & Stegun 7.1.26-style rational form refined to float precision,
    /// `erf(|x|) = 1 − t·P(t)·e^{−x²}`, `t = 1/(1 + p|x|)`, sign restored.
    @inlinable @inline(__always)
    public static func erf(_ x: Float) -> Float {
        let a = Swift.abs(x)
        let t = 1 / (1 + 0.5 * a)
        // Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7 everywhere).
        var p: Float = 0.170_872_77
        p = p * t - 0.822_152_23
        p = p * t + 1.488_515_87
        p = p * t - 1.135_203_98
        p = p * t + 0.278_868_07
        p = p * t - 0.186_288_06
        p = p * t + 0.096_784_18
        p = p * t + 0.374_091_96
        p = p * t + 1.000_023_68
        p = p * t - 1.265_512_23
        let erfc = t * exp(-a * a + p)
        let r = 1 - erfc
        return x < 0 ? -r : r
    }

    /// `1 / (1 + e^{−x})`.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
}
