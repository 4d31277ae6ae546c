import Foundation

/// The linear recurrence `x[k] = a ⊙ x[k−1] + b[k]` (`x[−1] = 0`) over the last axis, complex,
/// with `a` `(P)` constant in time and `b` `(B, P, L)` — S5's scan — as a parallel scan: the
/// sequence is cut into one chunk per core, each chunk is scanned from zero on its own core,
/// the chunks' end states are chained (the associative operator `(a₁, b₁)•(a₂, b₂) =
/// (a₂a₁, a₂b₁ + b₂)` on whole chunks), and each chunk adds `a^{k+1}·carry`. `reverse` runs from
/// the end (`x[k] = a ⊙ x[k+1] + b[k]`). Accumulation in `Double`.
///
/// Gradient (real-pair convention, `G = ∂x`): the adjoint `μ` is the same scan of `G` in the
/// other direction with `conj(a)`; `∂b = μ`, `∂a = Σ_k conj(x[k−1])·μ[k]`.
public func diagonalScan(_ a: ComplexVariable, _ b: ComplexVariable, reverse: Bool = false) -> ComplexVariable {
    precondition(a.shape.count == 1 && b.shape.count == 3 && b.shape[1] == a.shape[0],
                 "diagonalScan: a must be (P) and b (B, P, L), got \(a.shape), \(b.shape)")
    let (bsz, p, L) = (b.shape[0], b.shape[1], b.shape[2])
    let ar = a.re.value.data.map(Double.init), ai = a.im.value.data.map(Double.init)
    let (xr, xi) = ScanKernel.run(ar: ar, ai: ai, br: b.re.value.data, bi: b.im.value.data, batch: bsz, p: p, length: L, reverse: reverse)
    let inter = Tensor(shape: [bsz, p, L, 2], data: (0..<(2 * bsz * p * L)).map { $0 % 2 == 0 ? xr[$0 / 2] : xi[$0 / 2] })
    let node = Variable(inter, parents: [a.re, a.im, b.re, b.im]) { g in
        var gr = [Float](repeating: 0, count: bsz * p * L), gi = gr
        for i in 0..<(bsz * p * L) { gr[i] = g.data[2 * i]; gi[i] = g.data[2 * i + 1] }
        // μ: the scan of G in the other direction with conj(a).
        let (mr, mi) = ScanKernel.run(ar: ar, ai: ai.map { -$0 }, br: gr, bi: gi, batch: bsz, p: p, length: L, reverse: !reverse)
        var gar = [Double](repeating: 0, count: p), gai = gar
        for bi in 0..<bsz { for q in 0..<p {
            let row = (bi * p + q) * L
            for k in 0..<L {
                let prev = reverse ? k + 1 : k - 1
                guard prev >= 0 && prev < L else { continue }
                // conj(x[prev])·μ[k]
                let pr = Double(xr[row + prev]), pi = -Double(xi[row + prev])
                let ur = Double(mr[row + k]), ui = Double(mi[row + k])
                gar[q] += pr * ur - pi * ui; gai[q] += pr * ui + pi * ur
            }
        }}
        return [Tensor(shape: [p], data: gar.map(Float.init)), Tensor(shape: [p], data: gai.map(Float.init)),
                Tensor(shape: [bsz, p, L], data: mr), Tensor(shape: [bsz, p, L], data: mi)]
    }
    return ComplexVariable(interleaved: node)
}

enum ScanKernel {
    /// The chunked scan on plain values; returns `(re, im)` of `x` `(B, P, L)`.
    static func run(ar: [Double], ai: [Double], br: [Float], bi: [Float], batch: Int, p: Int, length L: Int,
                    reverse: Bool) -> ([Float], [Float]) {
        var xr = [Float](repeating: 0, count: batch * p * L), xi = xr
        let chunks = max(1, min(Parallel.maxThreads, L / 64))
        let bounds = (0...chunks).map { $0 * L / chunks }
        // Chunk c covers positions bounds[c]..<bounds[c+1] in scan order (from the end when reversed).
        func position(_ t: Int) -> Int { reverse ? L - 1 - t : t }
        var carryR = [Double](repeating: 0, count: batch * p * chunks), carryI = carryR
        xr.withUnsafeMutableBufferPointer { xrb in xi.withUnsafeMutableBufferPointer { xib in
        carryR.withUnsafeMutableBufferPointer { crb in carryI.withUnsafeMutableBufferPointer { cib in
            let (xrb, xib, crb, cib) = (xrb, xib, crb, cib)
            // 1. Every chunk from zero, in parallel.
            Parallel.forEach(chunks) { c in
                for row in 0..<(batch * p) {
                    let q = row % p, base = row * L
                    var sr = 0.0, si = 0.0
                    for t in bounds[c]..<bounds[c + 1] {
                        let k = base + position(t)
                        (sr, si) = (ar[q] * sr - ai[q] * si + Double(br[k]), ar[q] * si + ai[q] * sr + Double(bi[k]))
                        xrb[k] = Float(sr); xib[k] = Float(si)
                    }
                    crb[row * chunks + c] = sr; cib[row * chunks + c] = si
                }
            }
            guard chunks > 1 else { return }
            // 2. Chain the chunk ends: carry into chunk c = state at the end of chunk c − 1.
            var incomingR = [Double](repeating: 0, count: batch * p * chunks), incomingI = incomingR
            for row in 0..<(batch * p) {
                let q = row % p
                var sr = 0.0, si = 0.0
                for c in 0..<chunks {
                    incomingR[row * chunks + c] = sr; incomingI[row * chunks + c] = si
                    // a^len · s + local end
                    let len = bounds[c + 1] - bounds[c]
                    let (pr, pi) = power(ar[q], ai[q], len)
                    (sr, si) = (pr * sr - pi * si + crb[row * chunks + c], pr * si + pi * sr + cib[row * chunks + c])
                }
            }
            // 3. Add a^{j+1}·carry inside every chunk but the first, in parallel.
            Parallel.forEach(chunks - 1) { c1 in
                let c = c1 + 1
                for row in 0..<(batch * p) {
                    let q = row % p, base = row * L
                    var fr = incomingR[row * chunks + c], fi = incomingI[row * chunks + c]
                    for t in bounds[c]..<bounds[c + 1] {
                        (fr, fi) = (ar[q] * fr - ai[q] * fi, ar[q] * fi + ai[q] * fr)
                        let k = base + position(t)
                        xrb[k] = Float(Double(xrb[k]) + fr); xib[k] = Float(Double(xib[k]) + fi)
                    }
                }
            }
        }}}}
        return (xr, xi)
    }

    static func power(_ r: Double, _ i: Double, _ n: Int) -> (Double, Double) {
        var (pr, pi) = (1.0, 0.0), (br, bi) = (r, i), e = n
        while e > 0 {
            if e & 1 == 1 { (pr, pi) = (pr * br - pi * bi, pr * bi + pi * br) }
            (br, bi) = (br * br - bi * bi, 2 * br * bi)
            e >>= 1
        }
        return (pr, pi)
    }
}
