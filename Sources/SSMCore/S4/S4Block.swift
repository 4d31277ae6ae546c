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

    /// Prepares recurrent mode from the current parameters (call again after changing them).
    public func setupStep() { stepRecurrence = layer.recurrence() }

    /// The zero state `(B, H, N/2, 2)` for `batch` sequences.
    public func defaultState(batch: Int) -> Tensor { layer.defaultState(batch: batch) }

    /// One recurrent step: `x (B, H)` → `(y (B, H), next state)`. Sets up recurrent mode on first use.
    public func step(_ x: Tensor, state: Tensor) -> (Tensor, Tensor) {
        if stepRecurrence == nil { setupStep() }
        var s = state
        let y = layer.step(x, state: &s, recurrence: stepRecurrence!)       // (B, C·H)
        guard let outputLinear else { return (y, s) }
        let out = Autograd.withoutGradients {
            finalActivation.apply(outputLinear(Variable(y)), channelAxis: 1).value  // (B, H)
        }
        return (out, s)
    }
}
