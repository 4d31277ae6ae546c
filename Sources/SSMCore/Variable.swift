/// A node of the reverse-mode autograd graph: a value, and (when it requires a gradient)
/// the way to send the gradient of its value back to the nodes it was computed from.
///
/// Ops are functions `(Variable...) -> Variable` that compute their value eagerly with
/// `Tensor` maths and, if any input requires a gradient, record a closure mapping the output
/// gradient to one gradient per input (`nil` for inputs that need none). ``backward(_:)``
/// runs those closures in reverse topological order and accumulates into ``grad``.
///
/// Leaves that require a gradient are the trainable parameters; ``Variable/constant(_:)``
/// wraps data that does not.
public final class Variable {
    /// The forward value.
    public var value: Tensor
    /// Accumulated gradient of the loss w.r.t. `value`, same shape; `nil` until `backward`.
    public var grad: Tensor?
    /// Whether a gradient flows to (or through) this node.
    public let requiresGrad: Bool
    /// Inputs this node was computed from (empty for leaves).
    public let parents: [Variable]
    /// Output gradient → one gradient per parent (same order; `nil` = no gradient).
    let backwardFn: ((Tensor) -> [Tensor?])?
    /// Optional name (parameter key in a checkpoint), for diagnostics.
    public var name: String?
    /// How an optimiser should treat this parameter; set by the layer that owns it.
    public var role: ParameterRole = .weight

    /// A leaf. `requiresGrad: true` makes it a trainable parameter.
    public init(_ value: Tensor, requiresGrad: Bool = false, name: String? = nil) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.parents = []
        self.backwardFn = nil
        self.name = name
    }

    /// An interior node. Records the graph only if some parent requires a gradient and
    /// gradient recording is enabled (see ``Autograd/withoutGradients(_:)``).
    public init(_ value: Tensor, parents: [Variable], backward: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        let needs = Autograd.isRecording && parents.contains { $0.requiresGrad }
        self.requiresGrad = needs
        self.parents = needs ? parents : []
        self.backwardFn = needs ? backward : nil
    }

    /// A leaf that never requires a gradient.
    public static func constant(_ value: Tensor) -> Variable { Variable(value, requiresGrad: false) }

    public var shape: [Int] { value.shape }

    /// Back-propagates from this node. `seed` defaults to ones (a scalar loss gives 1).
    public func backward(_ seed: Tensor? = nil) {
        precondition(requiresGrad, "backward() on a value that does not require a gradient")
        if let seed { precondition(seed.shape == value.shape, "backward seed shape \(seed.shape) != value shape \(value.shape)") }
        let order = topologicalOrder()
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed ?? Tensor(repeating: 1, shape: value.shape)]
        for node in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            if node.backwardFn == nil {
                // Leaf: accumulate.
                if var old = node.grad {
                    node.grad = nil          // sole owner: add in place, no copy
                    old.add(g)
                    node.grad = old
                } else { node.grad = g }
                continue
            }
            let parentGrads = node.backwardFn!(g)
            precondition(parentGrads.count == node.parents.count, "backward returned \(parentGrads.count) grads for \(node.parents.count) inputs")
            for (p, pg) in zip(node.parents, parentGrads) where p.requiresGrad {
                guard let pg else { continue }
                precondition(pg.shape == p.value.shape, "gradient shape \(pg.shape) != value shape \(p.value.shape)")
                let key = ObjectIdentifier(p)
                if var acc = grads.removeValue(forKey: key) {   // removed first so the add is in place
                    acc.data.withUnsafeMutableBufferPointer { a in
                        pg.data.withUnsafeBufferPointer { b in
                            for i in 0..<a.count { a[i] += b[i] }
                        }
                    }
                    grads[key] = acc
                } else {
                    grads[key] = pg
                }
            }
        }
    }

    /// Nodes reachable from `self` that require a gradient, parents before children.
    func topologicalOrder() -> [Variable] {
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative DFS (graphs can be deep: long unrolled recurrences).
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if visited.contains(ObjectIdentifier(node)) { continue }
            visited.insert(ObjectIdentifier(node))
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        return order
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}

/// Global autograd switches.
public enum Autograd {
    @TaskLocal static var recordingDisabled = false

    /// Whether new ops record the graph.
    public static var isRecording: Bool { !recordingDisabled }

    /// Runs `body` without recording the graph (inference).
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try $recordingDisabled.withValue(true) { try body() }
    }
}
