/// Stochastic gradient descent with momentum, PyTorch `torch.optim.SGD` semantics:
///
///     d ← g + λ θ                                  (L2 weight decay, if λ > 0)
///     b ← d (first step),  b ← μ b + (1 − τ) d     (momentum buffer, if μ > 0)
///     d ← d + μ b (Nesterov)  or  d ← b
///     θ ← θ − lr · d
///
/// Parameters without a gradient are skipped. State: `<name>.momentum_buffer`.
public final class SGD {
    public var groups: [ParameterGroup]
    public let momentum: Float, dampening: Float, nesterov: Bool
    var buffers: [[[Float]?]]

    public init(groups: [ParameterGroup], momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false) {
        self.groups = groups
        self.momentum = momentum; self.dampening = dampening; self.nesterov = nesterov
        buffers = groups.map { [[Float]?](repeating: nil, count: $0.parameters.count) }
    }

    public func step(learningRateMultiplier: Float = 1) {
        for (gi, group) in groups.enumerated() {
            let lr = group.learningRate * learningRateMultiplier, wd = group.weightDecay
            for (pi, (_, p)) in group.parameters.enumerated() {
                guard let grad = p.grad else { continue }
                var d = grad.data
                if wd != 0 {
                    d.withUnsafeMutableBufferPointer { d in p.value.data.withUnsafeBufferPointer { w in
                        for i in 0..<d.count { d[i] += wd * w[i] }
                    } }
                }
                if momentum != 0 {
                    var b: [Float]
                    if var old = buffers[gi][pi] {
                        buffers[gi][pi] = nil
                        let mu = momentum, damp = 1 - dampening
                        old.withUnsafeMutableBufferPointer { b in d.withUnsafeBufferPointer { d in
                            for i in 0..<b.count { b[i] = mu * b[i] + damp * d[i] }
                        } }
                        b = old
                    } else {
                        b = d
                    }
                    if nesterov {
                        let mu = momentum
                        d.withUnsafeMutableBufferPointer { d in b.withUnsafeBufferPointer { b in
                            for i in 0..<d.count { d[i] += mu * b[i] }
                        } }
                    } else {
                        d = b
                    }
                    buffers[gi][pi] = b
                }
                p.value.data.withUnsafeMutableBufferPointer { w in d.withUnsafeBufferPointer { d in
                    for i in 0..<w.count { w[i] -= lr * d[i] }
                } }
            }
        }
    }

    public func zeroGrad() { for g in groups { for (_, p) in g.parameters { p.zeroGrad() } } }

    /// Momentum buffers as named tensors (parameters without one yet are absent).
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (gi, g) in groups.enumerated() { for (pi, (k, p)) in g.parameters.enumerated() {
            if let b = buffers[gi][pi] { d[k + ".momentum_buffer"] = Tensor(shape: p.shape, data: b) }
        } }
        return d
    }

    /// Restores buffers saved by ``stateDict()`` (absent keys leave a parameter without a buffer).
    public func load(stateDict d: [String: Tensor]) throws {
        var new = buffers
        for (gi, g) in groups.enumerated() { for (pi, (k, p)) in g.parameters.enumerated() {
            if let b = d[k + ".momentum_buffer"] {
                guard b.shape == p.shape else { throw OptimizerStateError.shapeMismatch(key: k + ".momentum_buffer", expected: p.shape, found: b.shape) }
                new[gi][pi] = b.data
            } else { new[gi][pi] = nil }
        } }
        buffers = new
    }
}
