// Embedding lookup: integer indices → rows of a weight matrix.

/// Rows of `weight (num, dim)` picked by `indices`: output shape `indexShape + [dim]` with
/// `y[i…, :] = weight[indices[i…], :]` (`indices` row-major over `indexShape`).
/// Gradient: rows of `g` scattered-added into `∂weight` (repeated indices accumulate).
/// Throws ``OpError`` for an index outside `0..<num` or a count that does not match `indexShape`.
public func embedding(_ indices: [Int], shape indexShape: [Int], weight: Variable) throws -> Variable {
    let wv = weight.value
    precondition(wv.rank == 2, "embedding: weight must be (num, dim), got \(wv.shape)")
    let num = wv.shape[0], dim = wv.shape[1]
    guard indices.count == Tensor.count(of: indexShape) else {
        throw OpError.countMismatch(op: "embedding", expected: Tensor.count(of: indexShape), found: indices.count)
    }
    for (pos, i) in indices.enumerated() where i < 0 || i >= num {
        throw OpError.indexOutOfRange(op: "embedding", index: i, position: pos, limit: num)
    }
    var y = [Float](repeating: 0, count: indices.count * dim)
    wv.data.withUnsafeBufferPointer { w in y.withUnsafeMutableBufferPointer { o in
        for (pos, i) in indices.enumerated() {
            (o.baseAddress! + pos * dim).update(from: w.baseAddress! + i * dim, count: dim)
        }
    } }
    return Variable(Tensor(shape: indexShape + [dim], data: y), parents: [weight]) { g in
        var gw = [Float](repeating: 0, count: num * dim)
        g.data.withUnsafeBufferPointer { pg in gw.withUnsafeMutableBufferPointer { o in
            for (pos, i) in indices.enumerated() {
                for d in 0..<dim { o[i * dim + d] += pg[pos * dim + d] }
            }
        } }
        return [Tensor(shape: [num, dim], data: gw)]
    }
}
