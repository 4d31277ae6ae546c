// Shape-only ops: reshape and axis permutation.

extension Tensor {
    /// The tensor with its axes reordered: `result.shape[i] == shape[axes[i]]`
    /// (like `torch.permute`). Copies the elements into row-major order.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank), "permuted: \(axes) is not a permutation of \(rank) axes")
        if axes == Array(0..<rank) { return self }
        let newShape = axes.map { shape[$0] }
        let src = Tensor.strides(of: shape)
        let sa = axes.map { src[$0] }           // source stride of each output axis
        var out = [Float](repeating: 0, count: count)
        let inner = newShape.last ?? 1, si = sa.last ?? 1
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            Broadcast.forEachRow(newShape, sa, sa) { oo, off, _ in
                if si == 1 {
                    for j in 0..<inner { o[oo + j] = p[off + j] }
                } else {
                    for j in 0..<inner { o[oo + j] = p[off + j * si] }
                }
            }
        } }
        return Tensor(shape: newShape, data: out)
    }

    /// Inverse permutation of `axes`.
    static func inversePermutation(_ axes: [Int]) -> [Int] {
        var inv = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inv[a] = i }
        return inv
    }
}

extension Variable {
    /// The same elements under `shape` (one extent may be `-1`). Gradient: reshaped back.
    public func reshaped(_ shape: [Int]) -> Variable {
        let old = self.shape
        return Variable(value.reshaped(shape), parents: [self]) { g in [g.reshaped(old)] }
    }

    /// Axes reordered, `result.shape[i] == shape[axes[i]]`. Gradient: the inverse permutation.
    public func permuted(_ axes: [Int]) -> Variable {
        let inv = Tensor.inversePermutation(axes)
        return Variable(value.permuted(axes), parents: [self]) { g in [g.permuted(inv)] }
    }
}
