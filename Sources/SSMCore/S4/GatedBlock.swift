import CKernels
import Foundation

/// The GSS-style gated block (Mehta et al., "Long Range Language Modeling via Gated State
/// Spaces"; the official `S4Block` with `gate`): a multiplicative gate of width `G·H` around any
/// sequence layer, as the official code computes it:
///
///     v = gate_act(W_in · x + b_in)                 (B, G·H, L)   input gate
///     y = layer(x)                                  (B, C·H, L)   e.g. FFTConv with GELU, any registry kernel
///     y = mult_act((W_out_gate · y + b) ⊙ v)        (B, G·H, L)   output gate, then the product
///     out = final_act(W_o · y + b_o)                (B, H, L)
///
/// Parameters (official keys): `input_gate.0.{weight, bias}`, `layer.*`, `output_gate.{weight, bias}`,
/// `output_linear.0.{weight, bias}`. Pointwise apart from the layer, so it steps whenever the
/// layer does.
public final class GatedBlock: SequenceLayer {
    public let layer: any SequenceLayer
    public let inputGate: Linear, outputGate: Linear, outputLinear: Linear
    public let gateActivation: SequenceActivation, multActivation: SequenceActivation, finalActivation: SequenceActivation
    public let gate: Int

    public var namedParameters: [(String, Variable)] {
        inputGate.namedParameters.map { ("input_gate.0." + $0.0, $0.1) } + layer.namedParameters.map { ("layer." + $0.0, $0.1) }
            + outputGate.namedParameters.map { ("output_gate." + $0.0, $0.1) }
            + outputLinear.namedParameters.map { ("output_linear.0." + $0.0, $0.1) }
    }

    public init(layer: any SequenceLayer, gate: Int, gateActivation: SequenceActivation = .identity,
                multActivation: SequenceActivation = .identity, finalActivation: SequenceActivation = .identity,
                rng: inout SeededRNG) {
        precondition(gate >= 1, "the gate expansion must be at least 1")
        precondition(![gateActivation, multActivation, finalActivation].contains(.glu), "GLU is not a gate activation")
        let h = layer.inputFeatures
        self.layer = layer; self.gate = gate
        self.gateActivation = gateActivation; self.multActivation = multActivation; self.finalActivation = finalActivation
        inputGate = Linear(h, gate * h, rng: &rng)
        outputGate = Linear(layer.outputFeatures, gate * h, rng: &rng)
        outputLinear = Linear(gate * h, h, rng: &rng)
    }

    public var inputFeatures: Int { layer.inputFeatures }
    public var outputFeatures: Int { layer.inputFeatures }

    public func forward(_ x: Variable, rate: Float) -> Variable {
        let v = gateActivation.apply(inputGate.channels(x), channelAxis: 1)
        let y = layer.forward(x, rate: rate)
        let z = multActivation.apply(outputGate.channels(y) * v, channelAxis: 1)
        return finalActivation.apply(outputLinear.channels(z), channelAxis: 1)
    }

    public var hasStepMode: Bool { layer.hasStepMode }

    public final class State: StepState {
        public let batch: Int
        let inner: any StepState
        let v: StepBuffer, y: StepBuffer, z: StepBuffer
        let inAffine: StepAffine, gateAffine: StepAffine, outAffine: StepAffine
        init(batch: Int, block: GatedBlock) {
            self.batch = batch
            inner = block.layer.defaultState(batch: batch)
            let wide = block.gate * block.inputFeatures
            v = StepBuffer(batch * wide); z = StepBuffer(batch * wide); y = StepBuffer(batch * block.layer.outputFeatures)
            inAffine = StepAffine(weight: block.inputGate.weight.value, bias: block.inputGate.bias?.value)
            gateAffine = StepAffine(weight: block.outputGate.weight.value, bias: block.outputGate.bias?.value)
            outAffine = StepAffine(weight: block.outputLinear.weight.value, bias: block.outputLinear.bias?.value)
        }
    }

    public func defaultState(batch: Int) -> any StepState { State(batch: batch, block: self) }

    public func step(_ x: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let x else { preconditionFailure("GatedBlock needs an input at every step") }
        let bsz = s.batch, wide = gate * inputFeatures
        s.inAffine.apply(x, batch: bsz, into: s.v.pointer)
        gateActivation.applyInPlace(UnsafeMutableBufferPointer(start: s.v.pointer, count: bsz * wide))
        guard layer.step(x, into: s.y.pointer, state: s.inner) else { return false }
        s.gateAffine.apply(s.y.pointer, batch: bsz, into: s.z.pointer)
        for i in 0..<(bsz * wide) { s.z.pointer[i] *= s.v.pointer[i] }
        multActivation.applyInPlace(UnsafeMutableBufferPointer(start: s.z.pointer, count: bsz * wide))
        s.outAffine.apply(s.z.pointer, batch: bsz, into: out)
        finalActivation.applyInPlace(UnsafeMutableBufferPointer(start: out, count: bsz * inputFeatures))
        return true
    }
}
