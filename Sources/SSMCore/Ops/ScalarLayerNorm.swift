// The S4 code's "transposed" layer norm with scalar affine parameters, fused.

/// Normalisation over `axis` with one scalar shift `m` and one scalar scale `s` — the official
/// S4 `TransposedLN(d, scalar=True)` used by channel-first `(B, D, L…)` models:
///
///     μ = mean_axis(x),  σ = √(mean_axis((x − μ)²))   (biased, and no eps)
///     y = (s / σ) · (x − μ + m)                       m, s: shape [1]
///
/// A constant vector (σ = 0) gives non-finite values, as in the reference.
/// Backward, per vector with `x̂ = (x − μ)/σ`:
/// `∂x = (s/σ)(g − mean(g) − x̂·mean(g x̂)) − (s m/σ²) x̂ mean(g)`,
/// `∂s = Σ g (x̂ + m/σ)`, `∂m = Σ g s/σ`.
public func scalarLayerNorm(_ x: Variable, shift m: Variable, scale s: Variable, axis: Int = 1) -> Variable {
    let xv = x.value
    precondition(m.value.count == 1 && s.value.count == 1, "scalarLayerNorm: m \(m.shape) and s \(s.shape) must hold one element")
    let ax = xv.axisIndex(axis)
    let (outer, n, inner) = xv.split(at: ax)
    let mv = m.value.data[0], sv = s.value.data[0]
    let vectors = outer * inner
    var mean = [Float](repeating: 0, count: vectors), invStd = [Float](repeating: 0, count: vectors)
    var y = [Float](repeating: 0, count: xv.count)
    let chunks = xv.count >= 1 << 15 ? min(outer, Parallel.maxThreads) : 1
    xv.data.withUnsafeBufferPointer { p in y.withUnsafeMutableBufferPointer { o in
    mean.withUnsafeMutableBufferPointer { mu in invStd.withUnsafeMutableBufferPointer { rs in
        let p = p.baseAddress!, o = o.baseAddress!, mu = mu.baseAddress!, rs = rs.baseAddress!
        Parallel.forEach(chunks) { c in
            var s1 = [Double](repeating: 0, count: inner), s2 = [Double](repeating: 0, count: inner)
            for a in (outer * c / chunks)..<(outer * (c + 1) / chunks) {
                let base = a * n * inner
                for j in 0..<inner { s1[j] = 0; s2[j] = 0 }
                for k in 0..<n { for j in 0..<inner { s1[j] += Double(p[base + k * inner + j]) } }
                for j in 0..<inner { s1[j] /= Double(n) }
                for k in 0..<n { for j in 0..<inner { let d = Double(p[base + k * inner + j]) - s1[j]; s2[j] += d * d } }
                for j in 0..<inner {
                    mu[a * inner + j] = Float(s1[j])
                    rs[a * inner + j] = Float(1 / (s2[j] / Double(n)).squareRoot())
                }
                for k in 0..<n { for j in 0..<inner {
                    let i = base + k * inner + j, v = a * inner + j
                    o[i] = sv * rs[v] * (p[i] - mu[v] + mv)
                } }
            }
        }
    } } } }
    return Variable(Tensor(shape: xv.shape, data: y), parents: [x, m, s]) { g in
        var gx = [Float](repeating: 0, count: xv.count)
        var partial = [Double](repeating: 0, count: chunks * 2)   // (∂m, ∂s) per chunk
        xv.data.withUnsafeBufferPointer { p in g.data.withUnsafeBufferPointer { pg in gx.withUnsafeMutableBufferPointer { o in
        mean.withUnsafeBufferPointer { mu in invStd.withUnsafeBufferPointer { rs in partial.withUnsafeMutableBufferPointer { part in
            let p = p.baseAddress!, pg = pg.baseAddress!, o = o.baseAddress!
            let mu = mu.baseAddress!, rs = rs.baseAddress!, part = part.baseAddress!
            Parallel.forEach(chunks) { c in
                var sg = [Double](repeating: 0, count: inner), sgx = [Double](repeating: 0, count: inner)
                var gm = 0.0, gs = 0.0
                for a in (outer * c / chunks)..<(outer * (c + 1) / chunks) {
                    let base = a * n * inner
                    for j in 0..<inner { sg[j] = 0; sgx[j] = 0 }
                    for k in 0..<n { for j in 0..<inner {
                        let i = base + k * inner + j, v = a * inner + j
                        let xh = (p[i] - mu[v]) * rs[v], gi = pg[i]
                        sg[j] += Double(gi); sgx[j] += Double(gi * xh)
                        gs += Double(gi * (xh + mv * rs[v]))
                    } }
                    for j in 0..<inner { gm += sg[j] * Double(sv * rs[a * inner + j]) }
                    let invN = 1 / Double(n)
                    for k in 0..<n { for j in 0..<inner {
                        let i = base + k * inner + j, v = a * inner + j
                        let r = rs[v], xh = (p[i] - mu[v]) * r
                        let mg = Float(sg[j] * invN), mgx = Float(sgx[j] * invN)
                        o[i] = sv * r * (pg[i] - mg - xh * mgx) - sv * mv * r * r * xh * mg
                    } }
                }
                part[2 * c] = gm; part[2 * c + 1] = gs
            }
        } } } } } }
        var gm = 0.0, gs = 0.0
        for c in 0..<chunks { gm += partial[2 * c]; gs += partial[2 * c + 1] }
        return [x.requiresGrad ? Tensor(shape: xv.shape, data: gx) : nil,
                m.requiresGrad ? Tensor(shape: m.shape, data: [Float(gm)]) : nil,
                s.requiresGrad ? Tensor(shape: s.shape, data: [Float(gs)]) : nil]
    }
}
