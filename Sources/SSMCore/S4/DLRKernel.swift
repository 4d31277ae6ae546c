import Foundation

/// The diagonal linear RNN kernel (Gupta et al., "Simplifying and Understanding State Space Models
/// with Diagonal Linear RNNs"; the `DLRKernel` of `ag1988/dlr`): no step size, no discretisation —
/// `Λ` is the discrete log-pole itself.
///
///     Λ_n = −ρ_n² + i·θ_n          (ρ = `Lambda_log_neg_re`, misnamed upstream: a square, not an exp)
///     K[c, h, l] = Re Σ_n W[c, h, n] · e^{Λ_n·l}
///
/// Parameters: `Lambda_log_neg_re`, `Lambda_im` `(N)` shared by all features, `W` `(C, H, N, 2)`;
/// all are SSM parameters. Initialisation (`omega`): `Λ_n = −dt_n/2 + 2πi·n/N` with
/// `dt_n ~ logU[dt_min, dt_max)` per mode, `W ~ CN` with re, im `N(0, 1/N²)`.
///
/// Rate: DLR has no continuous-time meaning (θ is only defined modulo 2π). A rate change reads `Λ`
/// as `Δ·A` with `Δ` one sample: θ is wrapped to (−π, π] (which leaves the kernel at integer lags
/// unchanged), then `Λ → rate·Λ` and `W → rate·W`. Exactly the reference kernel at `rate = 1`.
/// Step mode: `x_t = e^{Λ} x_{t−1} + u_t`, `y_t = Re Σ W x_t`.
public final class DLRKernel: VandermondeSequenceKernel {
    public let features: Int, channels: Int, modes: Int
    public let rho: Variable, theta: Variable, w: Variable

    public var namedParameters: [(String, Variable)] { [("Lambda_log_neg_re", rho), ("Lambda_im", theta), ("W", w)] }

    public init(features h: Int, channels c: Int, stateSize n: Int, dtMin: Float = 1e-4, dtMax: Float = 0.1, rng: inout SeededRNG) {
        precondition(h > 0 && c > 0 && n >= 1, "DLRKernel needs positive sizes")
        features = h; channels = c; modes = n
        let lo = log(dtMin), hi = log(dtMax)
        rho = Variable(Tensor(shape: [n], data: (0..<n).map { _ in (0.5 * exp(rng.uniform() * (hi - lo) + lo)).squareRoot() }),
                       requiresGrad: true, name: "Lambda_log_neg_re")
        theta = Variable(Tensor(shape: [n], data: (0..<n).map { 2 * Float.pi * Float($0) / Float(n) }), requiresGrad: true, name: "Lambda_im")
        let scale = 1 / Float(n)
        w = Variable(Tensor(shape: [c, h, n, 2], data: (0..<(c * h * n * 2)).map { _ in scale * rng.normal() }), requiresGrad: true, name: "W")
        for p in [rho, theta, w] { p.role = .ssm }
    }

    public func vandermondeTerms(rate: Float, length: Int) -> (weights: ComplexVariable, logBase: ComplexVariable) {
        let (h, n) = (features, modes)
        var im = theta
        if rate != 1 {
            // Principal branch: θ − 2π·round(θ/2π) (a constant shift; the gradient passes through).
            let shift = theta.value.map { -2 * Float.pi * ($0 / (2 * Float.pi)).rounded() }
            im = theta + Variable.constant(shift)
        }
        let lam = ComplexVariable(re: rho * rho * -1, im: im).reshaped([1, n]) * rate
        let ones = Variable.constant(Tensor(repeating: 1, shape: [h, 1]))
        let x = lam * ones                                             // (H, N)
        return (ComplexVariable(interleaved: w) * rate, x)
    }

    public static let entry = KernelEntry(
        name: "dlr", summary: "diagonal linear RNN: K = Re Σ W·exp(Λ·l), Λ learned directly (no discretisation)",
        initializations: ["omega"], discretizations: [], hasStepMode: true, continuousTime: false,
        rateNote: "Λ read as Δ·A with Δ one sample: Λ → rate·Λ (θ on the principal branch), W → rate·W"
    ) { o, shape, rng in
        DLRKernel(features: shape.features, channels: shape.channels, stateSize: o.stateSize,
                  dtMin: o.dtMin, dtMax: o.dtMax, rng: &rng)
    }
}
