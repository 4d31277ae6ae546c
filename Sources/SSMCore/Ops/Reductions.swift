// Sums and means, over everything or over one axis.

extension Tensor {
    /// Normalises a possibly negative axis index.
    @inline(__always) func axisIndex(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for shape \(shape)")
        return a
    }

    /// Splits `shape` around `axis` into `(outer, n, inner)` extents.
    @inline(__always) func split(at axis: Int) -> (outer: Int, n: Int, inner: Int) {
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        return (outer, shape[axis], inner)
    }

    /// Sum over `axis`: `(…, n, …) → (…, …)` (or `(…, 1, …)` with `keepDims`).
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = axisIndex(axis)
        let (outer, n, inner) = split(at: ax)
        var out = [Float](repeating: 0, count: outer * inner)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            for a in 0..<outer {
                for k in 0..<n {
                    let base = (a * n + k) * inner
                    for j in 0..<inner { o[a * inner + j] += p[base + j] }
                }
            }
        } }
        var s = shape
        if keepDims { s[ax] = 1 } else { s.remove(at: ax) }
        return Tensor(shape: s, data: out)
    }

    /// Mean over `axis`.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        let n = shape[axisIndex(axis)]
        return sum(axis: axis, keepDims: keepDims) * (1 / Float(n))
    }

    /// Repeats this tensor `n` times along a new (or size-1) axis `axis` — adjoint of `sum(axis:)`.
    func expanded(axis: Int, to n: Int, outputShape: [Int]) -> Tensor {
        let outer = outputShape[..<axis].reduce(1, *), inner = outputShape[(axis + 1)...].reduce(1, *)
        var out = [Float](repeating: 0, count: outer * n * inner)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            for a in 0..<outer {
                for k in 0..<n {
                    let base = (a * n + k) * inner
                    for j in 0..<inner { o[base + j] = p[a * inner + j] }
                }
            }
        } }
        return Tensor(shape: outputShape, data: out)
    }
}

extension Variable {
    /// Sum of all elements, a scalar (shape `[]`). Gradient: `g` broadcast to every element.
    public func sum() -> Variable {
        let s = shape
        return Variable(Tensor(scalar: value.sum()), parents: [self]) { g in [Tensor(repeating: g.scalar, shape: s)] }
    }

    /// Mean of all elements, a scalar.
    public func mean() -> Variable {
        let s = shape, n = Float(value.count)
        return Variable(Tensor(scalar: value.sum() / n), parents: [self]) { g in [Tensor(repeating: g.scalar / n, shape: s)] }
    }

    /// Sum over `axis` (negative counts from the end), dropping it unless `keepDims`.
    public func sum(axis: Int, keepDims: Bool = false) -> Variable {
        let ax = value.axisIndex(axis), s = shape
        return Variable(value.sum(axis: ax, keepDims: keepDims), parents: [self]) { g in
            [g.expanded(axis: ax, to: s[ax], outputShape: s)]
        }
    }

    /// Mean over `axis`, dropping it unless `keepDims`.
    public func mean(axis: Int, keepDims: Bool = false) -> Variable {
        let ax = value.axisIndex(axis), s = shape, r = 1 / Float(shape[ax])
        return Variable(value.sum(axis: ax, keepDims: keepDims) * r, parents: [self]) { g in
            [g.expanded(axis: ax, to: s[ax], outputShape: s) * r]
        }
    }
}
