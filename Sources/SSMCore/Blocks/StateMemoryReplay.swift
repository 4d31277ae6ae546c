import Foundation

/// State Memory Replay (Qi et al., "SMR: State Memory Replay for Long Sequence Modeling", ACL
/// Findings 2024), as implemented here from the paper's description (it has no public code): the
/// input of an SSM layer is adjusted by learnable memories of the last `m` inputs before the
/// layer sees it, through a convolutional gate,
///
///     g[b, h, t] = σ(Σ_{j<m} w[h, j]·u[b, h, t − j] + c[h])        (u before the start = 0)
///     ũ = u ⊙ g,   y = layer(ũ)
///
/// so the state update at each step mixes in multi-step information of the recent inputs — the
/// paper's remedy for the state drifting away when the sampling step differs from the training
/// one. Parameters `smr.weight` `(H, m)` (init `N(0, 0.1²)`), `smr.bias` `(H)` (init 2, a gate
/// near 0.88 so the wrapped layer starts close to itself), `layer.*`. Causal; step mode keeps a
/// ring of the last `m` inputs.
public final class StateMemoryReplay: SequenceLayer {
    public let layer: any SequenceLayer
    public let window: Int
    public let weight: Variable, bias: Variable

    public var namedParameters: [(String, Variable)] {
        [("smr.weight", weight), ("smr.bias", bias)] + layer.namedParameters.map { ("layer." + $0.0, $0.1) }
    }

    public init(_ layer: any SequenceLayer, window m: Int = 4, rng: inout SeededRNG) {
        precondition(m >= 1, "the SMR window must be at least 1")
        self.layer = layer; window = m
        let h = layer.inputFeatures
        weight = Variable(Tensor(shape: [h, m], data: (0..<(h * m)).map { _ in 0.1 * rng.normal() }), requiresGrad: true, name: "weight")
        bias = Variable(Tensor(repeating: 2, shape: [h]), requiresGrad: true, name: "bias")
        bias.role = .noDecay
    }

    public var inputFeatures: Int { layer.inputFeatures }
    public var outputFeatures: Int { layer.outputFeatures }

    /// `σ(causal conv(u))` `(B, H, L)`.
    func gate(_ u: Variable) -> Variable {
        let (h, L, m) = (u.shape[1], u.shape[2], window)
        let padded = u.padded(axis: 2, before: m - 1, after: 0)
        var acc = bias.reshaped([1, h, 1]) + padded.slice(axis: 2, (m - 1)..<(m - 1 + L)) * weight.slice(axis: 1, 0..<1).reshaped([1, h, 1])
        for j in 1..<m {
            // tap j looks j samples back
            acc = acc + padded.slice(axis: 2, (m - 1 - j)..<(m - 1 - j + L)) * weight.slice(axis: 1, j..<(j + 1)).reshaped([1, h, 1])
        }
        return sigmoid(acc)
    }

    public func forward(_ u: Variable, rate: Float) -> Variable { layer.forward(u * gate(u), rate: rate) }

    public var hasStepMode: Bool { layer.hasStepMode }

    public final class State: StepState {
        public let batch: Int
        let inner: any StepState
        let ring: StepBuffer, gated: StepBuffer
        let w: [Float], c: [Float]
        init(batch: Int, smr: StateMemoryReplay) {
            self.batch = batch
            inner = smr.layer.defaultState(batch: batch)
            ring = StepBuffer(batch * smr.inputFeatures * smr.window)
            gated = StepBuffer(batch * smr.inputFeatures)
            w = smr.weight.value.data; c = smr.bias.value.data
        }
    }

    public func defaultState(batch: Int) -> any StepState { State(batch: batch, smr: self) }

    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let x else { preconditionFailure("SMR needs an input at every step") }
        let (h, m) = (inputFeatures, window)
        for b in 0..<s.batch { for f in 0..<h {
            let reg = s.ring.pointer + (b * h + f) * m                   // newest first
            var j = m - 1
            while j > 0 { reg[j] = reg[j - 1]; j -= 1 }
            let u = x[b * h + f]
            reg[0] = u
            var acc = s.c[f]
            for k in 0..<m { acc += s.w[f * m + k] * reg[k] }
            s.gated.pointer[b * h + f] = u / (1 + Foundation.exp(-acc))
        }}
        return layer.step(s.gated.pointer, into: y, state: s.inner)
    }
}
