import CKernels
import SSMCore

/// Dropout switches shared by the blocks of one model: off (evaluation, generation) unless a
/// training loop turns them on and supplies the generator.
public final class DropoutContext {
    public var training = false
    public var rng = SeededRNG(seed: 0)
    public init() {}

    func apply(_ x: Variable, p: Float) -> Variable {
        guard training && p > 0 else { return x }
        return dropout(x, p: p, training: true, rng: &rng)
    }
}

/// SaShiMi's position-wise feed-forward block (official `FFBlock`): an inverted bottleneck
/// `H → expand·H → H` with GELU, `(B, H, L) → (B, H, L)`. Parameters `ff.0.0.*` and `ff.2.*`
/// (1×1 convolutions, as the official `LinearActivation(transposed=True)`).
public final class FFBlock: SequenceLayer {
    public let input: PointwiseLinear, output: PointwiseLinear
    public let dropout: Float
    let context: DropoutContext

    public init(features: Int, expand: Int, dropout: Float = 0, context: DropoutContext, rng: inout SeededRNG) {
        input = PointwiseLinear(features, features * expand, rng: &rng)
        output = PointwiseLinear(features * expand, features, rng: &rng)
        self.dropout = dropout
        self.context = context
    }

    public var inputFeatures: Int { input.inFeatures }
    public var outputFeatures: Int { output.outFeatures }
    public var namedParameters: [(String, Variable)] {
        input.namedParameters.map { ("ff.0.0." + $0.0, $0.1) } + output.namedParameters.map { ("ff.2." + $0.0, $0.1) }
    }

    public func forward(_ x: Variable, rate: Float) -> Variable {
        output(context.apply(gelu(input(x)), p: dropout))
    }

    public var hasStepMode: Bool { true }

    public final class State: StepState {
        public let batch: Int
        let first: StepAffine, second: StepAffine
        let hidden: StepBuffer
        init(batch: Int, first: StepAffine, second: StepAffine) {
            self.batch = batch; self.first = first; self.second = second
            hidden = StepBuffer(batch * first.outFeatures)
        }
    }

    public func defaultState(batch: Int) -> any StepState {
        State(batch: batch, first: input.stepAffine(), second: output.stepAffine())
    }

    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let x else { preconditionFailure("FFBlock needs an input at every step") }
        s.first.apply(x, batch: s.batch, into: s.hidden.pointer)
        ssm_step_gelu(s.hidden.pointer, s.batch * s.first.outFeatures)
        s.second.apply(s.hidden.pointer, batch: s.batch, into: y)
        return true
    }
}

/// A pre-norm residual block (official `ResidualBlock`): `x + dropout(layer(LayerNorm(x)))` with the
/// LayerNorm over the features of `(B, H, L)`. Parameters `layer.*` and `norm.weight`, `norm.bias`.
public final class ResidualBlock: SequenceLayer {
    public let layer: any SequenceLayer
    public let norm: LayerNorm
    public let dropout: Float
    let context: DropoutContext

    public init(layer: any SequenceLayer, dropout: Float = 0, context: DropoutContext) {
        precondition(layer.inputFeatures == layer.outputFeatures, "a residual block's layer must keep its width")
        self.layer = layer
        norm = LayerNorm(layer.inputFeatures, axis: 1)
        self.dropout = dropout
        self.context = context
    }

    public var inputFeatures: Int { layer.inputFeatures }
    public var outputFeatures: Int { layer.outputFeatures }
    public var namedParameters: [(String, Variable)] {
        layer.namedParameters.map { ("layer." + $0.0, $0.1) } + norm.namedParameters.map { ("norm." + $0.0, $0.1) }
    }

    public func forward(_ x: Variable, rate: Float) -> Variable {
        x + context.apply(layer.forward(norm(x), rate: rate), p: dropout)
    }

    public var hasStepMode: Bool { layer.hasStepMode }

    public final class State: StepState {
        public let batch: Int
        let inner: any StepState
        let normed: StepBuffer, weight: StepBuffer, bias: StepBuffer
        init(batch: Int, inner: any StepState, norm: LayerNorm) {
            self.batch = batch
            self.inner = inner
            normed = StepBuffer(batch * norm.weight.value.count)
            weight = StepBuffer(copying: norm.weight.value.data)
            bias = StepBuffer(copying: norm.bias.value.data)
        }
    }

    public func defaultState(batch: Int) -> any StepState {
        State(batch: batch, inner: layer.defaultState(batch: batch), norm: norm)
    }

    /// `y = x + layer(LayerNorm(x))`; `y` must not overlap `x`.
    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let x else { preconditionFailure("a residual block needs an input at every step") }
        let h = inputFeatures
        ssm_step_layernorm(x, s.batch, h, s.weight.pointer, s.bias.pointer, norm.eps, s.normed.pointer)
        guard layer.step(s.normed.pointer, into: y, state: s.inner) else { return false }
        ssm_step_add(y, x, s.batch * h)
        return true
    }
}

extension ResidualBlock: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] { kernels(of: layer, prefix: "layer") }
}
