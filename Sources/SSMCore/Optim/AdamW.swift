/// AdamW (Loshchilov & Hutter), with PyTorch `torch.optim.AdamW` semantics per parameter `θ`
/// with gradient `g` at step `t` (counted per parameter, from 1):
///
///     θ ← θ · (1 − lr·λ)                      decoupled weight decay
///     m ← β₁ m + (1 − β₁) g                   exp_avg
///     v ← β₂ v + (1 − β₂) g²                  exp_avg_sq
///     θ ← θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// `lr` is the group's learning rate times the multiplier passed to ``step(learningRateMultiplier:)``
/// (a schedule). Parameters without a gradient are skipped (their `t` does not advance).
/// State is saved as named tensors (``stateDict()``): `<name>.step` (scalar), `<name>.exp_avg`,
/// `<name>.exp_avg_sq`.
public final class AdamW {
    public var groups: [ParameterGroup]
    public let beta1: Float, beta2: Float, eps: Float

    /// Per-parameter state, indexed like `groups[g].parameters[i]`.
    struct State { var step: Int = 0; var m: [Float]; var v: [Float] }
    var states: [[State]]

    public init(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) throws {
        var seen = Set<String>()
        for g in groups { for (k, _) in g.parameters {
            guard seen.insert(k).inserted else { throw OptimizerStateError.duplicateName(k) }
        } }
        self.groups = groups
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        states = groups.map { g in g.parameters.map { _, p in
            State(m: [Float](repeating: 0, count: p.value.count), v: [Float](repeating: 0, count: p.value.count))
        } }
    }

    /// One update of every parameter that has a gradient.
    public func step(learningRateMultiplier: Float = 1) {
        for (gi, group) in groups.enumerated() {
            let lr = group.learningRate * learningRateMultiplier
            let decay = 1 - lr * group.weightDecay
            for (pi, (_, p)) in group.parameters.enumerated() {
                guard let grad = p.grad else { continue }
                states[gi][pi].step += 1
                let t = Double(states[gi][pi].step)
                let bc1 = 1 - powDouble(Double(beta1), t), bc2 = 1 - powDouble(Double(beta2), t)
                let stepSize = Float(Double(lr) / bc1)
                let invSqrtBC2 = Float(1 / bc2.squareRoot())
                let b1 = beta1, b2 = beta2, eps = eps
                var st = states[gi][pi]
                states[gi][pi].m = []; states[gi][pi].v = []   // keep the buffers uniquely referenced
                p.value.data.withUnsafeMutableBufferPointer { w in grad.data.withUnsafeBufferPointer { g in
                st.m.withUnsafeMutableBufferPointer { m in st.v.withUnsafeMutableBufferPointer { v in
                    for i in 0..<w.count {
                        let gi = g[i]
                        m[i] = b1 * m[i] + (1 - b1) * gi
                        v[i] = b2 * v[i] + (1 - b2) * gi * gi
                        let denom = v[i].squareRoot() * invSqrtBC2 + eps
                        w[i] = w[i] * decay - stepSize * m[i] / denom
                    }
                } } } }
                states[gi][pi] = st
            }
        }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for g in groups { for (_, p) in g.parameters { p.zeroGrad() } } }

    /// The optimiser state as named tensors, for a checkpoint.
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (gi, g) in groups.enumerated() { for (pi, (k, p)) in g.parameters.enumerated() {
            let s = states[gi][pi]
            d[k + ".step"] = Tensor(scalar: Float(s.step))
            d[k + ".exp_avg"] = Tensor(shape: p.shape, data: s.m)
            d[k + ".exp_avg_sq"] = Tensor(shape: p.shape, data: s.v)
        } }
        return d
    }

    /// Restores a state saved by ``stateDict()``; every key must be present with its shape.
    public func load(stateDict d: [String: Tensor]) throws {
        var new = states
        for (gi, g) in groups.enumerated() { for (pi, (k, p)) in g.parameters.enumerated() {
            guard let st = d[k + ".step"] else { throw OptimizerStateError.missingKey(k + ".step") }
            guard st.count == 1 else { throw OptimizerStateError.shapeMismatch(key: k + ".step", expected: [], found: st.shape) }
            guard let m = d[k + ".exp_avg"] else { throw OptimizerStateError.missingKey(k + ".exp_avg") }
            guard m.shape == p.shape else { throw OptimizerStateError.shapeMismatch(key: k + ".exp_avg", expected: p.shape, found: m.shape) }
            guard let v = d[k + ".exp_avg_sq"] else { throw OptimizerStateError.missingKey(k + ".exp_avg_sq") }
            guard v.shape == p.shape else { throw OptimizerStateError.shapeMismatch(key: k + ".exp_avg_sq", expected: p.shape, found: v.shape) }
            new[gi][pi] = State(step: Int(st.scalar), m: m.data, v: v.data)
        } }
        states = new
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func powDouble(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
#else
import Darwin
@inline(__always) func powDouble(_ a: Double, _ b: Double) -> Double { Darwin.pow(a, b) }
#endif
