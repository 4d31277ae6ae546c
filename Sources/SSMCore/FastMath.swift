// Branch-free Float approximations of exp and the normal CDF that the compiler can vectorise
// (libm's expf/erff are opaque calls, one element at a time). Accuracy is checked against
// Double libm in FastMathTests.

/// `eˣ` with relative error below 3·10⁻⁷ on the whole Float range (inputs are clamped to
/// [−87.3, 88.3], so very negative inputs give ≈ 1.2·10⁻³⁸ instead of 0, and large ones ≈ 2·10³⁸).
///
/// Method: `x = k ln 2 + r` with `k` rounded to nearest (the 1.5·2²³ trick) and `r` reduced in two
/// parts (Cody–Waite); `eʳ` by its degree-7 Taylor polynomial on `|r| ≤ ln2/2`; `2ᵏ` built in the
/// exponent bits.
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    let xc = Swift.min(Swift.max(x, -87.3), 88.3)
    let k = (xc * 1.442695041 + 12_582_912) - 12_582_912
    let r = (xc - k * 0.693359375) + k * 2.12194440e-4
    var p: Float = 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let scale = Float(bitPattern: UInt32(bitPattern: Int32(k) + 127) << 23)
    return p * scale
}

/// The standard normal CDF `Φ(x) = ½(1 + erf(x/√2))` and the density `φ(x) = e^{−x²/2}/√(2π)`,
/// sharing one exponential. Absolute errors below 3·10⁻⁷ (`Φ`) and 1·10⁻⁷ (`φ`).
///
/// With `z = |x|/√2`, `erfc(z) ≈ t(a₁ + t(a₂ + t(a₃ + t(a₄ + t a₅)))) e^{−z²}`, `t = 1/(1 + p z)`
/// (Abramowitz & Stegun 7.1.26), and `Φ(x) = 1 − erfc(z)/2` for `x ≥ 0`, `erfc(z)/2` for `x < 0` —
/// no cancellation in the left tail, where the error stays within 2 % of `Φ` itself.
@inlinable @inline(__always)
public func normalCDFAndPDF(_ x: Float) -> (cdf: Float, pdf: Float) {
    let z = Swift.abs(x) * 0.70710678118654752
    let e = fastExp(-z * z)
    let t = 1 / (1 + 0.3275911 * z)
    var q: Float = 1.061405429
    q = q * t - 1.453152027
    q = q * t + 1.421413741
    q = q * t - 0.284496736
    q = q * t + 0.254829592
    let halfErfc = 0.5 * q * t * e
    let cdf = x < 0 ? halfErfc : 1 - halfErfc
    return (cdf, e * 0.39894228040143268)
}

/// Logistic sigmoid `1/(1 + e⁻ˣ)` through ``fastExp(_:)``.
@inlinable @inline(__always)
public func fastSigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }
