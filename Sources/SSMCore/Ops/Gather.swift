/// Index selection and reversal along the last axis, for the Liquid-S4 input products and time flips.
extension Tensor {
    /// The last axis reversed (rows in parallel when the tensor is big).
    public func reversedLast() -> Tensor {
        let n = shape.last ?? 0, rows = count / max(n, 1)
        var out = Tensor.uninitialized(count)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            guard let src = p.baseAddress, let dst = o.baseAddress else { return }
            Parallel.forEachChunk(rows, minimumChunk: max(1, (1 << 16) / max(n, 1))) { range in
                for r in range {
                    let s = src + r * n, d = dst + r * n
                    for j in 0..<n { d[j] = s[n - 1 - j] }
                }
            }
        } }
        return Tensor(shape: shape, data: out)
    }
}

extension Variable {
    /// `out[…, j] = self[…, indices[j]]` along the last axis. Gradient: scatter-added back.
    public func gatherLast(_ indices: [Int]) -> Variable {
        let shape = value.shape, n = shape.last ?? 0, rows = value.count / max(n, 1), m = indices.count
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "gatherLast: an index is outside 0..<\(n)")
        var out = Tensor.zeros(Array(shape.dropLast()) + [m])
        let src = value.data
        for r in 0..<rows { for (j, i) in indices.enumerated() { out.data[r * m + j] = src[r * n + i] } }
        return Variable(out, parents: [self]) { g in
            var gx = Tensor.zeros(shape)
            for r in 0..<rows { for (j, i) in indices.enumerated() { gx.data[r * n + i] += g.data[r * m + j] } }
            return [gx]
        }
    }

    /// The last axis reversed. Gradient: reversed back.
    public func reversedLast() -> Variable {
        Variable(value.reversedLast(), parents: [self]) { g in [g.reversedLast()] }
    }
}

/// Real FFT of the last axis zero-padded (or cut) to `n`: `(…, L)` → `(…, ⌊n/2⌋+1)` complex planes
/// (`X_k = Σ_t x_t e^{−2πikt/n}`). Gradient: `∂x_t = Re Σ_k G_k e^{2πikt/n}` over the kept bins,
/// computed as `n · irfft` of `G` with the inner bins halved.
public func rfft(_ x: Variable, length n: Int) -> ComplexVariable {
    let shape = x.shape, L = shape.last ?? 0
    let lead = Array(shape.dropLast()), rows = lead.reduce(1, *), J = n / 2 + 1
    let spec = FFT.rfftn(x.value, size: [n])                                   // (…, J, 2)
    let inter = Variable(spec, parents: [x]) { g in
        var z = g
        for r in 0..<rows { for k in 0..<J {
            let edge = k == 0 || (n % 2 == 0 && k == n / 2)
            if !edge { z.data[2 * (r * J + k)] *= 0.5; z.data[2 * (r * J + k) + 1] *= 0.5 }
        }}
        let full = FFT.irfftn(z, size: [n]) * Float(n)                        // (…, n)
        if L == n { return [full] }
        var gx = Tensor.zeros(shape)
        for r in 0..<rows { for t in 0..<min(L, n) { gx.data[r * L + t] = full.data[r * n + t] } }
        return [gx]
    }
    return ComplexVariable(interleaved: inter)
}
