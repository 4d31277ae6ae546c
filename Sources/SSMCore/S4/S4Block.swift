import CKernels
import Foundation

/// The official `S4Block` with its default options: a sequence layer — an ``FFTConv`` (kernel,
/// D skip, activation, GELU by default) for the S4 family — followed by a position-wise output
/// linear with its final activation (GLU by default, so the linear maps `C·H → 2H` and the GLU
/// halves it back to `H`).
///
///     y = layer(x)                              (B, C·H, L)
///     y = final_act(output_linear(y))           (B, H, L)
///
/// Layout `(B, H, L)` ("transposed", the official default). Parameters: `layer.*` (for FFTConv
/// `layer.kernel.*`, `layer.D`), `output_linear.0.weight` `(2H, C·H)`, `output_linear.0.bias` `(2H)`.
///
/// Recurrent mode from the same parameters (``SequenceLayer``): ``defaultState(batch:)``,
/// ``step(_:into:state:)``; the two modes agree (tested over 4,096 steps).
public final class S4Block: SequenceLayer {
    public let layer: any SequenceLayer
    /// `nil` when the block has no output linear (official `final_act=None`).
    public let outputLinear: Linear?
    public let finalActivation: SequenceActivation
    public var features: Int { layer.inputFeatures }
    /// `true` (default): inputs and outputs are `(B, H, L)`; `false`: `(B, L, H)` (for ``callAsFunction(_:rate:)``).
    public var transposed = true

    public var namedParameters: [(String, Variable)] {
        var p = layer.namedParameters.map { ("layer." + $0.0, $0.1) }
        if let outputLinear { p += outputLinear.namedParameters.map { ("output_linear.0." + $0.0, $0.1) } }
        return p
    }

    /// A block around `layer`. `finalActivation: nil` means no output linear at all.
    public init(layer: any SequenceLayer, finalActivation: SequenceActivation? = .glu, rng: inout SeededRNG) {
        self.layer = layer
        if let f = finalActivation {
            let out = f == .glu ? 2 * layer.inputFeatures : layer.inputFeatures
            outputLinear = Linear(layer.outputFeatures, out, rng: &rng)
            self.finalActivation = f
        } else {
            precondition(layer.outputFeatures == layer.inputFeatures, "without an output linear, the layer must keep its width")
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

    public var inputFeatures: Int { layer.inputFeatures }
    public var outputFeatures: Int { outputLinear == nil ? layer.outputFeatures : layer.inputFeatures }

    /// `x (B, H, L) → (B, H, L)` (or `(B, L, H)` in both places when not ``transposed``).
    public func callAsFunction(_ x: Variable, rate: Float = 1) -> Variable {
        if !transposed { return forward(x.permuted([0, 2, 1]), rate: rate).permuted([0, 2, 1]) }
        return forward(x, rate: rate)
    }

    /// Convolution mode on `(B, H, L)`, whatever ``transposed`` says.
    public func forward(_ x: Variable, rate: Float) -> Variable {
        let y = layer.forward(x, rate: rate)                             // (B, C·H, L)
        guard let outputLinear else { return y }
        let z = outputLinear.channels(y)                                 // (B, 2H or H, L)
        return finalActivation.apply(z, channelAxis: 1)                  // (B, H, L)
    }

    public var hasStepMode: Bool { layer.hasStepMode }

    /// The inner layer's state, its output buffer, the output linear prepared for stepping and the
    /// GLU's input buffer.
    public final class State: StepState {
        public let batch: Int
        let inner: any StepState
        let y: StepBuffer
        let affine: StepAffine?
        let z: StepBuffer
        init(batch: Int, inner: any StepState, layerOutput: Int, linear: Linear?) {
            self.batch = batch
            self.inner = inner
            y = StepBuffer(batch * layerOutput)
            affine = linear.map { StepAffine(weight: $0.weight.value, bias: $0.bias?.value) }
            z = StepBuffer(batch * (linear?.outFeatures ?? 0))
        }
    }

    public func defaultState(batch: Int) -> any StepState {
        State(batch: batch, inner: layer.defaultState(batch: batch), layerOutput: layer.outputFeatures, linear: outputLinear)
    }

    /// One recurrent step: `x (B, H)` → `y (B, H)` (or `(B, C·H)` without an output linear).
    public func step(_ x: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let affine = s.affine else { return layer.step(x, into: out, state: s.inner) }
        guard layer.step(x, into: s.y.pointer, state: s.inner) else { return false }
        let bsz = s.batch
        if finalActivation != .glu {
            affine.apply(s.y.pointer, batch: bsz, into: out)
            if finalActivation == .gelu { ssm_step_gelu(out, bsz * affine.outFeatures) }
            else { finalActivation.applyInPlace(UnsafeMutableBufferPointer(start: out, count: bsz * affine.outFeatures)) }
            return true
        }
        affine.apply(s.y.pointer, batch: bsz, into: s.z.pointer)               // (B, 2H)
        let half = affine.outFeatures / 2
        for b in 0..<bsz {                                                      // GLU over the features
            let row = s.z.pointer + b * 2 * half
            ssm_glu_forward(row, row + half, out + b * half, half)
        }
        return true
    }
}
