// Layer normalisation over one axis, fused forward and backward.

/// Layer normalisation over `axis` (the last axis, or the channel axis 1 of a channel-first
/// `(B, C, L…)` tensor):
///
///     μ = mean_axis(x),  σ² = mean_axis((x − μ)²)  (biased),  x̂ = (x − μ) / √(σ² + eps)
///     y = x̂ · weight + bias        weight, bias: (n), n = shape[axis], broadcast along `axis`
///
/// Backward (per normalised vector, with `ĝ = g · weight`):
/// `∂x = (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂)) / √(σ² + eps)`, `∂weight = Σ g x̂`, `∂bias = Σ g`.
/// Statistics are accumulated in Double; only the per-vector mean and 1/σ are kept for backward.
public func layerNorm(_ x: Variable, weight: Variable?, bias: Variable?, eps: Float = 1e-5, axis: Int = -1) -> Variable {
    let xv = x.value
    let ax = xv.axisIndex(axis)
    let (outer, n, inner) = xv.split(at: ax)
    if let weight { precondition(weight.shape == [n], "layerNorm: weight \(weight.shape) != [\(n)]") }
    if let bias { precondition(bias.shape == [n], "layerNorm: bias \(bias.shape) != [\(n)]") }
    let wv = weight?.value ?? Tensor(repeating: 1, shape: [n])
    let bv = bias?.value ?? Tensor.zeros([n])
    // Per-vector statistics, (outer, inner).
    var mean = [Float](repeating: 0, count: outer * inner)
    var rstd = [Float](repeating: 0, count: outer * inner)
    var y = [Float](repeating: 0, count: xv.count)
    xv.data.withUnsafeBufferPointer { p in y.withUnsafeMutableBufferPointer { o in
    wv.data.withUnsafeBufferPointer { w in bv.data.withUnsafeBufferPointer { bb in
    mean.withUnsafeMutableBufferPointer { mu in rstd.withUnsafeMutableBufferPointer { rs in
        let p = p.baseAddress!, o = o.baseAddress!, mu = mu.baseAddress!, rs = rs.baseAddress!
        // Split the independent vectors into one chunk per core when the tensor is big.
        let chunks = xv.count >= 1 << 15 ? min(outer, Parallel.maxThreads) : 1
        Parallel.forEach(chunks) { c in
            let range = (outer * c / chunks)..<(outer * (c + 1) / chunks)
            var s1 = [Double](repeating: 0, count: inner), s2 = [Double](repeating: 0, count: inner)
            for a in range {
                let base = a * n * inner
                for j in 0..<inner { s1[j] = 0; s2[j] = 0 }
                for k in 0..<n {
                    let row = p + base + k * inner
                    for j in 0..<inner { s1[j] += Double(row[j]) }
                }
                for j in 0..<inner { s1[j] /= Double(n) }
                for k in 0..<n {
                    let row = p + base + k * inner
                    for j in 0..<inner { let d = Double(row[j]) - s1[j]; s2[j] += d * d }
                }
                for j in 0..<inner {
                    mu[a * inner + j] = Float(s1[j])
                    rs[a * inner + j] = Float(1 / (s2[j] / Double(n) + Double(eps)).squareRoot())
                }
                for k in 0..<n {
                    let row = p + base + k * inner, out = o + base + k * inner
                    let wk = w[k], bk = bb[k]
                    for j in 0..<inner { out[j] = (row[j] - mu[a * inner + j]) * rs[a * inner + j] * wk + bk }
                }
            }
        }
    } } } } } }
    var parents = [x]
    if let weight { parents.append(weight) }
    if let bias { parents.append(bias) }
    return Variable(Tensor(shape: xv.shape, data: y), parents: parents) { g in
        var gx = [Float](repeating: 0, count: xv.count)
        // Independent vectors split into one chunk per core when big; each chunk keeps its own
        // partial ∂weight, ∂bias (n each), summed afterwards.
        let chunks = xv.count >= 1 << 15 ? min(outer, Parallel.maxThreads) : 1
        var partial = [Double](repeating: 0, count: chunks * 2 * n)
        xv.data.withUnsafeBufferPointer { p in g.data.withUnsafeBufferPointer { pg in
        wv.data.withUnsafeBufferPointer { w in gx.withUnsafeMutableBufferPointer { o in
        mean.withUnsafeBufferPointer { mu in rstd.withUnsafeBufferPointer { rs in
        partial.withUnsafeMutableBufferPointer { part in
            let p = p.baseAddress!, pg = pg.baseAddress!, w = w.baseAddress!, o = o.baseAddress!
            let mu = mu.baseAddress!, rs = rs.baseAddress!, part = part.baseAddress!
            Parallel.forEach(chunks) { c in
                let gw = part + c * 2 * n, gb = gw + n
                var c1 = [Double](repeating: 0, count: inner), c2 = [Double](repeating: 0, count: inner)
                for a in (outer * c / chunks)..<(outer * (c + 1) / chunks) {
                    let base = a * n * inner
                    for j in 0..<inner { c1[j] = 0; c2[j] = 0 }
                    // c1 = Σ ĝ, c2 = Σ ĝ x̂ over the normalised axis; also accumulate ∂weight, ∂bias.
                    for k in 0..<n {
                        let wk = w[k]
                        var sw = 0.0, sb = 0.0
                        for j in 0..<inner {
                            let i = base + k * inner + j
                            let xh = (p[i] - mu[a * inner + j]) * rs[a * inner + j]
                            let gi = pg[i]
                            c1[j] += Double(gi * wk); c2[j] += Double(gi * wk * xh)
                            sw += Double(gi * xh); sb += Double(gi)
                        }
                        gw[k] += sw; gb[k] += sb
                    }
                    let invN = 1 / Double(n)
                    for k in 0..<n {
                        let wk = w[k]
                        for j in 0..<inner {
                            let i = base + k * inner + j
                            let r = rs[a * inner + j]
                            let xh = (p[i] - mu[a * inner + j]) * r
                            o[i] = r * (pg[i] * wk - Float(c1[j] * invN) - xh * Float(c2[j] * invN))
                        }
                    }
                }
            }
        } } } } } } }
        var gw = [Double](repeating: 0, count: n), gb = [Double](repeating: 0, count: n)
        for c in 0..<chunks { for k in 0..<n { gw[k] += partial[c * 2 * n + k]; gb[k] += partial[c * 2 * n + n + k] } }
        var grads: [Tensor?] = [x.requiresGrad ? Tensor(shape: xv.shape, data: gx) : nil]
        if let weight { grads.append(weight.requiresGrad ? Tensor(shape: [n], data: gw.map(Float.init)) : nil) }
        if let bias { grads.append(bias.requiresGrad ? Tensor(shape: [n], data: gb.map(Float.init)) : nil) }
        return grads
    }
}
