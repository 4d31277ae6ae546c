import Foundation

/// The official `S4Block` with its default options: an ``FFTConv`` (kernel, D skip, activation —
/// GELU by default) followed by a position-wise output linear with its final activation
/// (GLU by default, so the linear maps `C·H → 2H` and the GLU halves it back to `H`).
///
///     y = layer(x)                              (B, C·H, L)
///     y = final_act(output_linear(y))           (B, H, L)
///
/// Layout `(B, H, L)` ("transposed", the official default). Parameters: `layer.kernel.*`,
/// `layer.D`, `output_linear.0.weight` `(2H, C·H)`, `output_linear.0.bias` `(2H)`.
///
/// Recurrent mode from the same parameters: ``setupStep()``, ``defaultState(batch:)``,
/// ``step(_:state:)``; the two modes agree (tested over 4,096 steps).
public final class S4Block: Layer {
    public let layer: FFTConv
    /// `nil` when the block has no output linear (official `final_act=None`).
    public let outputLinear: Linear?
    public let finalActivation: SequenceActivation
    public var features: Int { layer.features }
    /// `true` (default): inputs and outputs are `(B, H, L)`; `false`: `(B, L, H)`.
    public var transposed = true
    private var stepRecurrence: (any KernelRecurrence)?

    public var namedParameters: [(String, Variable)] {
        var p = layer.namedParameters.map { ("layer." + $0.0, $0.1) }
        if let outputLinear { p += outputLinear.namedParameters.map { ("output_linear.0." + $0.0, $0.1) } }
        return p
    }

    /// A block around `layer`. `finalActivation: nil` means no output linear at all.
    public init(layer: FFTConv, finalActivation: SequenceActivation? = .glu, rng: inout SeededRNG) {
        self.layer = layer
        if let f = finalActivation {
            let out = f == .glu ? 2 * layer.features : layer.features
            outputLinear = Linear(layer.outputFeatures, out, rng: &rng)
            self.finalActivation = f
        } else {
            precondition(layer.outputFeatures == layer.features, "without an output linear, FFTConv must have one channel")
            outputLinear = nil
            self.finalActivation = .identity
        }
    }

    /// An S4D block: kernel from `kernel`, FFTConv with `channels`, bidirectional or causal.
    public convenience init(kernel config: S4DKernelConfiguration, channels: Int = 1, bidirectional: Bool = false,
                            activation: SequenceActivation = .gelu, finalActivation: SequenceActivation? = .glu,
                            maxKernelLength: Int? = nil, rng: inout SeededRNG) {
        var kc = config
        kc.channels = channels * (bidirectional ? 2 : 1)
        let kernel = S4DKernel(kc, rng: &rng)
        let conv = FFTConv(kernel: kernel, channels: channels, bidirectional: bidirectional, activation: activation,
                           maxKernelLength: maxKernelLength, rng: &rng)
        self.init(layer: conv, finalActivation: finalActivation, rng: &rng)
    }

    /// `x (B, H, L) → (B, H, L)` (or `(B, L, H)` in both places when not ``transposed``).
    public func callAsFunction(_ x: Variable, rate: Float = 1) -> Variable {
        if !transposed { return forward(x.permuted([0, 2, 1]), rate: rate).permuted([0, 2, 1]) }
        return forward(x, rate: rate)
    }

    private func forward(_ x: Variable, rate: Float) -> Variable {
        let y = layer(x, rate: rate)                                     // (B, C·H, L)
        guard let outputLinear else { return y }
        let z = outputLinear.channels(y)                                 // (B, 2H or H, L)
        return finalActivation.apply(z, channelAxis: 1)                  // (B, H, L)
    }

    /// Whether the block can run as a recurrence (causal, with a kernel that has a step mode).
    public var hasRecurrentMode: Bool { !layer.bidirectional && layer.kernel.recurrence(rate: 1) != nil }

    /// Prepares recurrent mode from the current parameters (call again after changing them).
    /// Requires ``hasRecurrentMode``.
    public func setupStep() { stepRecurrence = layer.recurrence() }

    /// The zero state `(B, H, N/2, 2)` for `batch` sequences.
    public func defaultState(batch: Int) -> Tensor { layer.defaultState(batch: batch) }

    /// One recurrent step: `x (B, H)` → `(y (B, H), next state)`. Sets up recurrent mode on first use.
    public func step(_ x: Tensor, state: Tensor) -> (Tensor, Tensor) {
        var s = state
        let y = step(x, state: &s)
        return (y, s)
    }

    /// One recurrent step advancing `state` in place: `x (B, H)` → `y (B, H)` (or `(B, C·H)` without
    /// an output linear). Plain arithmetic, no autograd nodes; the output linear runs as loops for
    /// small batches (where BLAS call overhead dominates) and as one sgemm otherwise.
    public func step(_ x: Tensor, state: inout Tensor) -> Tensor {
        if stepRecurrence == nil { setupStep() }
        let y = layer.step(x, state: &state, recurrence: stepRecurrence!)     // (B, C·H)
        guard let outputLinear else { return y }
        let bsz = x.shape[0], inF = outputLinear.inFeatures, outF = outputLinear.outFeatures
        var z = [Float](repeating: 0, count: bsz * outF)                        // (B, out)
        y.data.withUnsafeBufferPointer { yb in
        outputLinear.weight.value.data.withUnsafeBufferPointer { wb in
        z.withUnsafeMutableBufferPointer { zb in
            if let bias = outputLinear.bias?.value.data {
                for b in 0..<bsz { for o in 0..<outF { zb[b * outF + o] = bias[o] } }
            }
            if bsz >= 8 {
                // (B, in) × (out, in)ᵀ → (B, out)
                BLAS.sgemm(transB: true, m: bsz, n: outF, k: inF, a: yb.baseAddress!, lda: inF,
                           b: wb.baseAddress!, ldb: inF, beta: 1, c: zb.baseAddress!, ldc: outF)
            } else {
                for b in 0..<bsz {
                    let row = yb.baseAddress! + b * inF
                    for o in 0..<outF {
                        let w = wb.baseAddress! + o * inF
                        var acc: Float = 0
                        for i in 0..<inF { acc += w[i] * row[i] }
                        zb[b * outF + o] += acc
                    }
                }
            }
        }}}
        if finalActivation != .glu {
            z.withUnsafeMutableBufferPointer { finalActivation.applyInPlace($0) }
            return Tensor(shape: [bsz, outF], data: z)
        }
        let half = outF / 2                                                     // GLU over the features
        var out = [Float](repeating: 0, count: bsz * half)
        for b in 0..<bsz {
            for j in 0..<half {
                let a = z[b * outF + j], g = z[b * outF + half + j]
                out[b * half + j] = a / (1 + exp(-g))
            }
        }
        return Tensor(shape: [bsz, half], data: out)
    }
}
