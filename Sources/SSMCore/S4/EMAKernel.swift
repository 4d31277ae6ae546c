import Foundation

/// Mega's multi-dimensional damped EMA as a convolution kernel (the official `EMAKernel`, a
/// translation of Mega's `MultiHeadEMA`), real-valued:
///
///     p = σ(delta),  q = 1 − p·σ(alpha)                               (C·H, N, 1)
///     K[c, h, l] = Σ_n p·beta · q^l · gamma · √(1/N)                   row c·H + h of the parameters
///
/// Parameters: `delta` `(C·H, N, 1)` (or `(C·H, 1, 1)` with `dt_tie`), `alpha`, `beta` `(C·H, N, 1)`
/// (SSM parameters), `gamma` `(C·H, N)` (an ordinary weight, as the official code). Initialisation:
/// `delta, alpha ~ N(0, 0.2²)`, `beta ~ N(±1, 0.02²)` alternating in sign over `n`, `gamma ~ N(0, 1)`.
///
/// Rate: Mega's EMA is a discrete recurrence with no step size. A rate change resamples its impulse
/// response as `rate · K(l · rate)`, extending `q^l` to real lags — the same reading a ZOH SSM gives
/// to `dt × rate` — and is exactly the official kernel at `rate = 1`. Step mode: the real diagonal
/// recurrence `h_t = q·h_{t−1} + u_t`, `y_t = Σ_n p·beta·gamma·√(1/N)·h_t`.
public final class EMAKernel: VandermondeSequenceKernel {
    public let delta: Variable, alpha: Variable, beta: Variable, gamma: Variable
    public let features: Int, channels: Int, stateSize: Int

    public var namedParameters: [(String, Variable)] {
        [("delta", delta), ("alpha", alpha), ("beta", beta), ("gamma", gamma)]
    }

    public init(features: Int, channels: Int, stateSize n: Int, dtTie: Bool = false, rng: inout SeededRNG) {
        precondition(features > 0 && channels > 0 && n > 0, "EMAKernel needs positive sizes")
        self.features = features; self.channels = channels; stateSize = n
        let rows = features * channels
        func normal(_ shape: [Int], _ mean: (Int) -> Float, _ std: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<Tensor.count(of: shape)).map { mean($0) + std * rng.normal() })
        }
        delta = Variable(normal([rows, dtTie ? 1 : n, 1], { _ in 0 }, 0.2), requiresGrad: true, name: "delta")
        alpha = Variable(normal([rows, n, 1], { _ in 0 }, 0.2), requiresGrad: true, name: "alpha")
        beta = Variable(normal([rows, n, 1], { i in (i % n) % 2 == 1 ? -1 : 1 }, 0.02), requiresGrad: true, name: "beta")
        gamma = Variable(normal([rows, n], { _ in 0 }, 1), requiresGrad: true, name: "gamma")
        for p in [delta, alpha, beta] { p.role = .ssm }
    }

    public func vandermondeTerms(rate: Float, length: Int) -> (weights: ComplexVariable, logBase: ComplexVariable) {
        let (c, h, n) = (channels, features, stateSize)
        let p = sigmoid(delta)                                   // (CH, N|1, 1)
        let q = 1 - p * sigmoid(alpha)                           // (CH, N, 1)
        let scale = (1 / Float(n)).squareRoot()
        let w = (p * beta).reshaped([c * h, n]) * gamma * (scale * rate)   // (CH, N)
        // Each (c, h) row has its own bases: the C·H rows are the features of one channel.
        let x = log(q).reshaped([c * h, n]) * rate
        return (ComplexVariable(real: w.reshaped([1, c * h, n])), ComplexVariable(real: x))
    }

    /// `K (C, H, L)`: the C·H rows of the sum, split into channels.
    public func kernel(length: Int, rate: Float) -> Variable {
        let t = vandermondeTerms(rate: rate, length: length)
        return vandermondeKernel(weights: t.weights, logBase: t.logBase, length: length).reshaped([channels, features, length])
    }

    /// The real recurrence over the C·H rows (one feature per row), outputs regrouped as `(C, H)`.
    public func recurrence(rate: Float) -> (any KernelRecurrence)? {
        ChannelRowsRecurrence(rows: discreteSystem(rate: rate), channels: channels, features: features)
    }

    public static let entry = KernelEntry(
        name: "ema", summary: "Mega's damped EMA: K = Σ p·beta·q^l·gamma/√N (real)",
        initializations: ["mega"], discretizations: [], hasStepMode: true, continuousTime: false,
        rateNote: "resampled as rate·K(l·rate) (q^l extended to real lags); Mega itself has no step size"
    ) { o, shape, rng in
        EMAKernel(features: shape.features, channels: shape.channels, stateSize: o.stateSize, rng: &rng)
    }
}

/// A recurrence over `C·H` independent rows presented as `C` channels of `H` features:
/// input `u` `(B, H)` is fed to every channel's rows, output `(B, C, H)`.
struct ChannelRowsRecurrence: KernelRecurrence {
    let rows: DiagonalSystem
    let channels: Int, features: Int
    var stateCount: Int { rows.stateCount }

    func step(_ u: UnsafePointer<Float>, batch: Int, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        // The rows system has C·H features and one output channel; its input repeats u over c.
        let ch = channels * features
        withUnsafeTemporaryAllocation(of: Float.self, capacity: batch * ch) { wide in
            for b in 0..<batch { for c in 0..<channels {
                (wide.baseAddress! + b * ch + c * features).update(from: u + b * features, count: features)
            }}
            rows.step(wide.baseAddress!, batch: batch, state: state, into: y)
        }
    }
}
