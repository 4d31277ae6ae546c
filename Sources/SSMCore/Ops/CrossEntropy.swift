// Softmax cross-entropy with integer labels, fused.
import Foundation

/// The softmax of one row, the package's single implementation (``Tensor/softmax()`` and the
/// samplers use it): `dst[k] = exp(src[k] − m) / Σ exp(src − m)` with `m = max src`, sums in Double.
/// Returns `log Σₖ exp(src[k])` (so `log p[k] = src[k] − returned`). `dst` may be `src`.
@discardableResult
public func softmaxRow(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count K: Int) -> Double {
    var m = -Float.infinity
    for k in 0..<K { m = Swift.max(m, src[k]) }
    var s = 0.0
    for k in 0..<K { let e = expf(src[k] - m); dst[k] = e; s += Double(e) }
    let inv = Float(1 / s)
    for k in 0..<K { dst[k] *= inv }
    return Double(m) + Foundation.log(s)
}

extension Tensor {
    /// Softmax over the last axis, computed stably (max subtracted, sums in Double).
    public func softmax() -> Tensor {
        precondition(rank >= 1, "softmax of a scalar")
        let K = shape[rank - 1], rows = K == 0 ? 0 : count / K
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows { softmaxRow(p.baseAddress! + r * K, into: o.baseAddress! + r * K, count: K) }
        } }
        return Tensor(shape: shape, data: out)
    }
}

/// Mean softmax cross-entropy of `logits (…, K)` against integer `labels` (one per row, row-major
/// over the leading axes): `loss = (1/N) Σᵣ [log Σₖ exp(zᵣₖ) − zᵣ,labelᵣ]` with `N` rows — the
/// same as `torch.nn.functional.cross_entropy` on `logits.reshape(-1, K)`.
///
/// Returns the scalar loss and the softmax probabilities `(…, K)` (for accuracy or sampling).
/// Gradient: `∂z = g · (softmax(z) − onehot(label)) / N`.
/// Throws ``OpError`` for a label outside `0..<K` or a label count different from `N`.
public func softmaxCrossEntropy(logits: Variable, labels: [Int]) throws -> (loss: Variable, probabilities: Tensor) {
    let z = logits.value
    precondition(z.rank >= 1, "softmaxCrossEntropy: logits must have a class axis")
    let K = z.shape[z.rank - 1], N = K == 0 ? 0 : z.count / K
    guard labels.count == N else { throw OpError.countMismatch(op: "softmaxCrossEntropy", expected: N, found: labels.count) }
    for (pos, c) in labels.enumerated() where c < 0 || c >= K {
        throw OpError.indexOutOfRange(op: "softmaxCrossEntropy", index: c, position: pos, limit: K)
    }
    let probs = z.softmax()
    // loss_r = max_r + log Σ exp(z − max_r) − z[label], in Double (exact even when p underflows).
    var total = 0.0
    z.data.withUnsafeBufferPointer { p in
        for r in 0..<N {
            let row = p.baseAddress! + r * K
            var m = -Float.infinity
            for k in 0..<K { m = Swift.max(m, row[k]) }
            var s = 0.0
            for k in 0..<K { s += Double(expf(row[k] - m)) }
            total += Double(m) + Foundation.log(s) - Double(row[labels[r]])
        }
    }
    let loss = Variable(Tensor(scalar: Float(total / Double(N))), parents: [logits]) { g in
        let s = g.scalar / Float(N)
        var gz = probs.data
        gz.withUnsafeMutableBufferPointer { o in
            for r in 0..<N { o[r * K + labels[r]] -= 1 }
            for i in 0..<o.count { o[i] *= s }
        }
        return [Tensor(shape: z.shape, data: gz)]
    }
    return (loss, probs)
}
