import Foundation

/// Diagonal State Spaces (Gupta et al., 2022) with the DSS author's parameterisation (the
/// `DSSKernel` of `ag1988/dlr`): one `Λ` `(N)` shared by all features, a step `Δ_h` per feature,
/// complex `W` `(C, H, N)`, no `B`. Two versions (`disc`):
///
///     exp:      Λ = −exp(Lambda_log_neg_re) + i·Lambda_im
///               W̃ = W · (e^{ΔΛ} − 1) · conj(Λ)/max(|Λ|², 1e−7)
///     softmax:  Λ = Lambda (raw complex; Re Λ may become positive)
///               a = ΔΛ·(1 − 2g), g = [Re Λ > 0]
///               W̃ = W · (e^{a} − 1) · conj(x)/(|x|² + 1e−7),  x = (e^{a·L} − 1)·Λ,   then · e^{−g·ΔΛ·(L−1)}
///     K[c, h, l] = Re Σ_n W̃[c, h, n] · e^{ΔΛ·l}
///
/// (softmax: `K = Re Σ (W/Λ)·softmax_l(ΔΛ·l)` over the `L` positions of the kernel, computed with the
/// closed geometric sum; the flip and the `e^{−g·ΔΛ(L−1)}` factor are the softmax's max-subtraction.)
/// Parameters (the author's names): `Lambda_log_neg_re`, `Lambda_im` `(N)` (exp) or `Lambda` `(N, 2)`
/// (softmax), `log_dt` `(H)`, `W` `(C, H, N, 2)`; all four are SSM parameters.
/// Initialisation (`lin`): `Λ_n = −1/2 + iπn`, `log Δ ~ U[log dt_min, log dt_max)`, `W ~ CN(0, 2)` (re, im `N(0, 1)`).
///
/// Rate: `Δ × rate` everywhere (a ZOH-discretised continuous system). Step mode: `x_t = e^{ΔΛ} x_{t−1} + u_t`,
/// `y_t = Re Σ W̃ x_t` — exact for exp; for softmax the normalisation length is fixed to the layer's
/// training length (`l_max`), so the recurrence reproduces the kernel of that length.
public final class DSSKernel: VandermondeSequenceKernel {
    public enum Version: String, Sendable { case exp, softmax }
    public let version: Version
    public let features: Int, channels: Int, modes: Int
    /// exp: `Lambda_log_neg_re`, `Lambda_im`; softmax: `Lambda` (with `lambdaIm` unused).
    public let lambdaRe: Variable, lambdaIm: Variable?
    public let logDt: Variable, w: Variable
    /// Normalisation length of the softmax version in step mode.
    public let stepLength: Int?

    public var namedParameters: [(String, Variable)] {
        switch version {
        case .exp: return [("Lambda_log_neg_re", lambdaRe), ("Lambda_im", lambdaIm!), ("log_dt", logDt), ("W", w)]
        case .softmax: return [("Lambda", lambdaRe), ("log_dt", logDt), ("W", w)]
        }
    }

    public init(features h: Int, channels c: Int, stateSize: Int, version: Version, dtMin: Float = 0.001, dtMax: Float = 0.1,
                stepLength: Int? = nil, rng: inout SeededRNG) {
        precondition(h > 0 && c > 0 && stateSize >= 1, "DSSKernel needs positive sizes")
        features = h; channels = c; self.version = version; self.stepLength = stepLength
        let n = stateSize
        modes = n
        let lo = log(dtMin), hi = log(dtMax)
        logDt = Variable(Tensor(shape: [h], data: (0..<h).map { _ in rng.uniform() * (hi - lo) + lo }), requiresGrad: true, name: "log_dt")
        switch version {
        case .exp:
            lambdaRe = Variable(Tensor(repeating: log(0.5), shape: [n]), requiresGrad: true, name: "Lambda_log_neg_re")
            lambdaIm = Variable(Tensor(shape: [n], data: (0..<n).map { Float.pi * Float($0) }), requiresGrad: true, name: "Lambda_im")
        case .softmax:
            lambdaRe = Variable(Tensor(shape: [n, 2], data: (0..<(2 * n)).map { $0 % 2 == 0 ? -0.5 : Float.pi * Float($0 / 2) }),
                                requiresGrad: true, name: "Lambda")
            lambdaIm = nil
        }
        w = Variable(Tensor(shape: [c, h, n, 2], data: (0..<(c * h * n * 2)).map { _ in rng.normal() }), requiresGrad: true, name: "W")
        for p in namedParameters { p.1.role = .ssm }
    }

    /// `Λ` as `(1, N)` planes.
    var lambda: ComplexVariable {
        let n = modes
        switch version {
        case .exp: return ComplexVariable(re: exp(lambdaRe) * -1, im: lambdaIm!).reshaped([1, n])
        case .softmax: return ComplexVariable(interleaved: lambdaRe).reshaped([1, n])
        }
    }

    public func vandermondeTerms(rate: Float, length L: Int) -> (weights: ComplexVariable, logBase: ComplexVariable) {
        let (c, h, n) = (channels, features, modes)
        let lam = lambda                                               // (1, N)
        let dt = exp(logDt).reshaped([h, 1]) * rate                    // (H, 1)
        let dtLam = lam * dt                                           // (H, N)
        let wc = ComplexVariable(interleaved: w)                       // (C, H, N)
        let factor: ComplexVariable
        switch version {
        case .exp:
            let rcp = ComplexVariable(re: lam.re, im: lam.im * -1) * (1 / clampMin(lam.squaredMagnitude, 1e-7))
            factor = (dtLam.exp + -1) * rcp                            // (H, N)
        case .softmax:
            let positive = lam.re.value.data.map { $0 > 0 ? Float(1) : 0 }
            let sign = Variable.constant(Tensor(shape: [1, n], data: positive.map { 1 - 2 * $0 }))
            let flipped = dtLam * sign
            let num = flipped.exp + -1
            let den = (flipped * Float(L)).exp + -1
            let x = den * lam
            let rcp = ComplexVariable(re: x.re, im: x.im * -1) * (1 / (x.squaredMagnitude + 1e-7))
            var f = num * rcp
            if positive.contains(1) {
                // e^{−P_max}, P_max = g·ΔΛ·(L − 1), without a gradient (as the reference).
                let p = Autograd.withoutGradients { dtLam * Variable.constant(Tensor(shape: [1, n], data: positive.map { $0 * Float(L - 1) })) }
                f = f * ComplexVariable(re: Variable.constant(p.re.value * -1), im: Variable.constant(p.im.value * -1)).exp
            }
            factor = f
        }
        return (wc * factor.reshaped([1, h, n]), dtLam)
    }

    public func discreteSystem(rate: Float) -> DiagonalSystem {
        Autograd.withoutGradients {
            let t = vandermondeTerms(rate: rate, length: stepLength ?? 1)
            return DiagonalSystem(vandermonde: VandermondeSum(weights: t.weights, logBase: t.logBase))
        }
    }

    public func recurrence(rate: Float) -> (any KernelRecurrence)? {
        version == .softmax && stepLength == nil ? nil : discreteSystem(rate: rate)
    }

    public static let entry = KernelEntry(
        name: "dss", summary: "Diagonal State Spaces (the DSS author's parameterisation): exp or softmax normalisation",
        initializations: ["lin"], discretizations: ["exp", "softmax"], hasStepMode: true, continuousTime: true,
        rateNote: "dt × rate everywhere (softmax: normalised over the kernel's own length)"
    ) { o, shape, rng in
        let version = Version(rawValue: try o.resolvedDiscretization()) ?? .exp
        return DSSKernel(features: shape.features, channels: shape.channels, stateSize: o.stateSize, version: version,
                         dtMin: o.dtMin, dtMax: o.dtMax, stepLength: shape.maxLength, rng: &rng)
    }
}
