import CKernels
// Layer normalisation over one axis, fused forward and backward.

/// Layer normalisation over `axis` (the last axis, or the channel axis 1 of a channel-first
/// `(B, C, L…)` tensor):
///
///     μ = mean_axis(x),  σ² = mean_axis((x − μ)²)  (biased),  x̂ = (x − μ) / √(σ² + eps)
///     y = x̂ · weight + bias        weight, bias: (n), n = shape[axis], broadcast along `axis`
///
/// Backward (per normalised vector, with `ĝ = g · weight`):
/// `∂x = (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂)) / √(σ² + eps)`, `∂weight = Σ g x̂`, `∂bias = Σ g`.
/// Work is cut into blocks of up to 512 neighbouring vectors along the trailing axes (so a
/// `(1, C, N)` tensor spreads over every core), each run by the AVX2/FMA kernels of CKernels with
/// Float two-pass statistics; only the per-vector mean and 1/σ are kept for backward.
public func layerNorm(_ x: Variable, weight: Variable?, bias: Variable?, eps: Float = 1e-5, axis: Int = -1) -> Variable {
    let xv = x.value
    let ax = xv.axisIndex(axis)
    let (outer, n, inner) = xv.split(at: ax)
    if let weight { precondition(weight.shape == [n], "layerNorm: weight \(weight.shape) != [\(n)]") }
    if let bias { precondition(bias.shape == [n], "layerNorm: bias \(bias.shape) != [\(n)]") }
    let wv = weight?.value ?? Tensor(repeating: 1, shape: [n])
    let bv = bias?.value ?? Tensor.zeros([n])
    let blocks = LayerNormBlocks(outer: outer, n: n, inner: inner)
    // Per-vector statistics, (outer, inner).
    var mean = Tensor.uninitialized(outer * inner)
    var rstd = Tensor.uninitialized(outer * inner)
    var y = Tensor.uninitialized(xv.count)
    xv.data.withUnsafeBufferPointer { p in y.withUnsafeMutableBufferPointer { o in
    wv.data.withUnsafeBufferPointer { w in bv.data.withUnsafeBufferPointer { bb in
    mean.withUnsafeMutableBufferPointer { mu in rstd.withUnsafeMutableBufferPointer { rs in
        let p = p.baseAddress!, o = o.baseAddress!, w = w.baseAddress!, bb = bb.baseAddress!
        let mu = mu.baseAddress!, rs = rs.baseAddress!
        Parallel.forEach(blocks.chunks) { c in
            for item in blocks.items(chunk: c) {
                let (a, j0, j1) = blocks.item(item)
                let base = a * n * inner + j0, stats = a * inner + j0
                ssm_channel_layernorm_forward(p + base, n, inner, j1 - j0, w, bb, eps, o + base, mu + stats, rs + stats)
            }
        }
    } } } } } }
    var parents = [x]
    if let weight { parents.append(weight) }
    if let bias { parents.append(bias) }
    return Variable(Tensor(shape: xv.shape, data: y), parents: parents) { g in
        var gx = Tensor.uninitialized(xv.count)
        // Each chunk of blocks keeps its own partial ∂weight, ∂bias (n each), summed afterwards.
        let chunks = blocks.chunks
        var partial = [Float](repeating: 0, count: chunks * 2 * n)
        xv.data.withUnsafeBufferPointer { p in g.data.withUnsafeBufferPointer { pg in
        wv.data.withUnsafeBufferPointer { w in gx.withUnsafeMutableBufferPointer { o in
        mean.withUnsafeBufferPointer { mu in rstd.withUnsafeBufferPointer { rs in
        partial.withUnsafeMutableBufferPointer { part in
            let p = p.baseAddress!, pg = pg.baseAddress!, w = w.baseAddress!, o = o.baseAddress!
            let mu = mu.baseAddress!, rs = rs.baseAddress!, part = part.baseAddress!
            Parallel.forEach(chunks) { c in
                let gw = part + c * 2 * n, gb = gw + n
                var scratch = [Float](repeating: 0, count: 2 * LayerNormBlocks.width)
                scratch.withUnsafeMutableBufferPointer { sc in
                    for item in blocks.items(chunk: c) {
                        let (a, j0, j1) = blocks.item(item)
                        let base = a * n * inner + j0, stats = a * inner + j0
                        ssm_channel_layernorm_backward(p + base, pg + base, n, inner, j1 - j0, w, mu + stats, rs + stats,
                                                       o + base, gw, gb, sc.baseAddress!)
                    }
                }
            }
        } } } } } } }
        var gw = [Double](repeating: 0, count: n), gb = [Double](repeating: 0, count: n)
        for c in 0..<chunks { for k in 0..<n { gw[k] += Double(partial[c * 2 * n + k]); gb[k] += Double(partial[c * 2 * n + n + k]) } }
        var grads: [Tensor?] = [x.requiresGrad ? Tensor(shape: xv.shape, data: gx) : nil]
        if let weight { grads.append(weight.requiresGrad ? Tensor(shape: [n], data: gw.map(Float.init)) : nil) }
        if let bias { grads.append(bias.requiresGrad ? Tensor(shape: [n], data: gb.map(Float.init)) : nil) }
        return grads
    }
}

/// The work of one layer norm: `outer × ⌈inner / width⌉` items (one block of up to `width`
/// vectors each), handed out to parallel chunks in contiguous runs.
struct LayerNormBlocks {
    static let width = 512
    let outer: Int, inner: Int, perOuter: Int, count: Int, chunks: Int

    init(outer: Int, n: Int, inner: Int) {
        self.outer = outer
        self.inner = inner
        perOuter = max(1, (inner + Self.width - 1) / Self.width)
        count = outer * perOuter
        // Small tensors run as one chunk; big ones over every core.
        chunks = outer * n * inner >= 1 << 15 ? Parallel.pieces(count) : 1
    }

    func items(chunk c: Int) -> Range<Int> { (count * c / chunks)..<(count * (c + 1) / chunks) }

    /// Item → (outer index, first and past-the-end vector of the block along the trailing axes).
    func item(_ i: Int) -> (Int, Int, Int) {
        let a = i / perOuter, b = i % perOuter
        return (a, b * Self.width, Swift.min(inner, (b + 1) * Self.width))
    }
}
