import CKernels

// Branch-free Float approximations of exp, the normal CDF and the sigmoid that the compiler can
// vectorise (libm's expf/erff are opaque calls, one element at a time). The maths lives once, in
// CKernels' `ssm_math.h`, shared with the C element-wise kernels; these are its Swift names.
// Accuracy is checked against Double libm in FastMathTests.

/// `eˣ` with relative error below 3·10⁻⁷ on the whole Float range (inputs are clamped to
/// [−87.3, 88.3], so very negative inputs give ≈ 1.2·10⁻³⁸ instead of 0, and large ones ≈ 2·10³⁸).
///
/// Method: `x = k ln 2 + r` with `k` rounded to nearest (the 1.5·2²³ trick) and `r` reduced in two
/// parts (Cody–Waite); `eʳ` by its degree-7 Taylor polynomial on `|r| ≤ ln2/2`; `2ᵏ` built in the
/// exponent bits.
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float { ssm_fast_exp(x) }

/// The standard normal CDF `Φ(x) = ½(1 + erf(x/√2))` and the density `φ(x) = e^{−x²/2}/√(2π)`,
/// sharing one exponential. Absolute errors below 3·10⁻⁷ (`Φ`) and 1·10⁻⁷ (`φ`).
///
/// With `z = |x|/√2`, `erfc(z) ≈ t(a₁ + t(a₂ + t(a₃ + t(a₄ + t a₅)))) e^{−z²}`, `t = 1/(1 + p z)`
/// (Abramowitz & Stegun 7.1.26), and `Φ(x) = 1 − erfc(z)/2` for `x ≥ 0`, `erfc(z)/2` for `x < 0` —
/// no cancellation in the left tail, where the error stays within 2 % of `Φ` itself.
@inlinable @inline(__always)
public func normalCDFAndPDF(_ x: Float) -> (cdf: Float, pdf: Float) {
    var pdf: Float = 0
    let cdf = ssm_normal_cdf(x, &pdf)
    return (cdf, pdf)
}

/// Logistic sigmoid `1/(1 + e⁻ˣ)` through ``fastExp(_:)``.
@inlinable @inline(__always)
public func fastSigmoid(_ x: Float) -> Float { ssm_sigmoid(x) }
