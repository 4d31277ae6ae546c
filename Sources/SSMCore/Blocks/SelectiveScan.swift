import CKernels
import Foundation

/// Mamba's selective scan (S6) on a CPU, as a fused op with its exact backward:
///
///     h[b, e, n, t] = exp(Δ[b, e, t]·A[e, n]) · h[b, e, n, t−1] + Δ[b, e, t]·B[b, n, t]·u[b, e, t]
///     y[b, e, t]    = Σ_n C[b, n, t] · h[b, e, n, t]
///
/// (ZOH for `A`, Euler for `B`, as the reference; `D·u` and the gate are outside, ``mambaGate(_:_:d:z:)``.)
/// Float arithmetic as the reference (fp32), each row in C (`CKernels/scan.c`) with the fast exp.
/// Shapes: `u`, `Δ` `(B, E, L)`, `A` `(E, N)`, `B`, `C` `(B, N, L)` shared by all channels.
/// Rows `(b, e)` run in parallel; the backward pass recomputes each row's states (`N × L`, so it
/// stays in cache) and runs the reverse-time adjoint
/// `dh_t = a_{t+1}·dh_{t+1} + g_t·C_t` with `du_t = Δ_t Σ_n dh_t B_t`,
/// `dΔ_t = u_t Σ_n dh_t B_t + Σ_n dh_t A_n a_t h_{t−1}`, `dA_n = Σ_t Δ_t dh_t a_t h_{t−1}`,
/// `dB_t = Σ_e dh_t Δ_t u_t`, `dC_t = Σ_e g_t h_t`.
public func selectiveScan(u: Variable, delta: Variable, a: Variable, b: Variable, c: Variable) -> Variable {
    let (bsz, e, L) = (u.shape[0], u.shape[1], u.shape[2]), n = a.shape[1]
    precondition(delta.shape == u.shape && a.shape == [e, n] && b.shape == [bsz, n, L] && c.shape == [bsz, n, L],
                 "selectiveScan: u, Δ (B, E, L), A (E, N), B, C (B, N, L); got \(u.shape), \(delta.shape), \(a.shape), \(b.shape), \(c.shape)")
    return scanLayout(u: u, delta: delta, a: a, b: b, c: c, sequences: bsz, channels: e, length: L, states: n,
                      channelFirst: false)
}

/// The selective scan on the channel-first layout: `u`, `Δ` `(E, S, L)` (channel, sequence, time),
/// `A` `(E, N)`, `B`, `C` `(N, S, L)`; output `(E, S, L)`. Same recurrence, kernels and backward as
/// ``selectiveScan(u:delta:a:b:c:)``, which is this with the first two axes of `u`, `Δ`, `B`, `C`
/// swapped.
public func selectiveScan(channelsFirst u: Variable, delta: Variable, a: Variable, b: Variable, c: Variable) -> Variable {
    let (e, s, L) = (u.shape[0], u.shape[1], u.shape[2]), n = a.shape[1]
    precondition(delta.shape == u.shape && a.shape == [e, n] && b.shape == [n, s, L] && c.shape == [n, s, L],
                 "selectiveScan: u, Δ (E, S, L), A (E, N), B, C (N, S, L); got \(u.shape), \(delta.shape), \(a.shape), \(b.shape), \(c.shape)")
    return scanLayout(u: u, delta: delta, a: a, b: b, c: c, sequences: s, channels: e, length: L, states: n,
                      channelFirst: true)
}

/// Both layouts: sequence `s` channel `e` starts at `s·E·L + e·L` (sequence-major) or `e·S·L + s·L`
/// (channel-first) in `u`, `Δ`, `y`; state `k` of sequence `s` at `(s·N + k)·L` or `(k·S + s)·L` in
/// `B`, `C`. Rows `(s, e)` are cut into contiguous pieces, sequence-major, across the cores; each
/// piece sums its share of `dA`, `dB`, `dC` into buffers of its own (only its sequences for `dB`,
/// `dC`), added up in piece order afterwards, so results do not depend on the scheduling.
func scanLayout(u: Variable, delta: Variable, a: Variable, b: Variable, c: Variable, sequences S: Int, channels E: Int,
                length L: Int, states n: Int, channelFirst: Bool) -> Variable {
    let uv = u.value.data, dv = delta.value.data, av = a.value.data
    let rows = S * E
    let (rowStride, channelStride) = channelFirst ? (L, S * L) : (E * L, L)
    let (seqStride, stateStride) = channelFirst ? (L, S * L) : (n * L, L)
    // B and C time-major, (S, L, N): the inner loop over the N states reads contiguous memory.
    func timeMajor(_ t: Tensor) -> [Float] {
        var out = Tensor.uninitialized(S * L * n)
        t.data.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { dst in
            for si in 0..<S { for k in 0..<n {
                let from = si * seqStride + k * stateStride
                for t in 0..<L { dst[(si * L + t) * n + k] = src[from + t] }
            } }
        } }
        return out
    }
    let bt = timeMajor(b.value), ct = timeMajor(c.value)
    var y = Tensor.uninitialized(rows * L)
    let pieces = Parallel.pieces(rows, minimumChunk: 8)
    // Rows in pieces across the cores; each row runs in C (`ssm_selective_scan_row`, the state loop
    // vectorised with the fast exp, fp32 as the reference).
    uv.withUnsafeBufferPointer { up in dv.withUnsafeBufferPointer { dp in av.withUnsafeBufferPointer { ap in
    bt.withUnsafeBufferPointer { bp in ct.withUnsafeBufferPointer { cp in y.withUnsafeMutableBufferPointer { yb in
        let (up, dp, ap, bp, cp, yb) = (up.baseAddress!, dp.baseAddress!, ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, yb.baseAddress!)
        Parallel.forEach(pieces) { piece in
            var h = [Float](repeating: 0, count: n)
            for row in (rows * piece / pieces)..<(rows * (piece + 1) / pieces) {
                let si = row / E, ei = row % E, off = si * rowStride + ei * channelStride
                ssm_selective_scan_row(up + off, dp + off, ap + ei * n, bp + si * L * n, cp + si * L * n, L, n, &h, yb + off)
            }
        }
    }}}}}}
    let outShape = u.shape
    return Variable(Tensor(shape: outShape, data: y), parents: [u, delta, a, b, c]) { g in
        var du = Tensor.uninitialized(rows * L), dd = Tensor.uninitialized(rows * L)
        // Per piece: dA (E × N), and dB, dC (time-major) of the sequences its rows touch.
        let first = (0..<pieces).map { (rows * $0 / pieces) / E }
        let last = (0..<pieces).map { max((rows * ($0 + 1) / pieces - 1) / E, (rows * $0 / pieces) / E) }
        var offsets = [Int](repeating: 0, count: pieces + 1)
        for p in 0..<pieces { offsets[p + 1] = offsets[p] + (last[p] - first[p] + 1) * L * n }
        var localDA = [Float](repeating: 0, count: pieces * E * n)
        var localDB = [Float](repeating: 0, count: offsets[pieces]), localDC = localDB
        uv.withUnsafeBufferPointer { up in dv.withUnsafeBufferPointer { dp in av.withUnsafeBufferPointer { ap in
        bt.withUnsafeBufferPointer { bp in ct.withUnsafeBufferPointer { cp in g.data.withUnsafeBufferPointer { gp in
        du.withUnsafeMutableBufferPointer { dub in dd.withUnsafeMutableBufferPointer { ddb in
        localDA.withUnsafeMutableBufferPointer { lda in localDB.withUnsafeMutableBufferPointer { ldb in
        localDC.withUnsafeMutableBufferPointer { ldc in
            let (up, dp, ap, bp, cp, gp) = (up.baseAddress!, dp.baseAddress!, ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, gp.baseAddress!)
            let (dub, ddb, lda, ldb, ldc) = (dub.baseAddress!, ddb.baseAddress!, lda.baseAddress!, ldb.baseAddress!, ldc.baseAddress!)
            Parallel.forEach(pieces) { piece in
                // One row's states and decays ((L + 1) × N each, recomputed) and the adjoint state.
                var hs = [Float](repeating: 0, count: n * (L + 1)), at = hs, dh = [Float](repeating: 0, count: n)
                let pda = lda + piece * E * n, pdb = ldb + offsets[piece], pdc = ldc + offsets[piece]
                for row in (rows * piece / pieces)..<(rows * (piece + 1) / pieces) {
                    let si = row / E, ei = row % E, off = si * rowStride + ei * channelStride
                    let local = (si - first[piece]) * L * n
                    ssm_selective_scan_row_backward(up + off, dp + off, ap + ei * n, bp + si * L * n, cp + si * L * n,
                                                    gp + off, L, n, &hs, &at, &dh, dub + off, ddb + off,
                                                    pda + ei * n, pdb + local, pdc + local)
                }
            }
        }}}}}}}}}}}
        var da = [Float](repeating: 0, count: E * n)
        for p in 0..<pieces { for i in 0..<(E * n) { da[i] += localDA[p * E * n + i] } }
        // Back to the input layout, summing the pieces (in order) that share a sequence.
        func stateMajor(_ local: [Float]) -> Tensor {
            var out = [Float](repeating: 0, count: S * n * L)
            local.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { dst in
                for p in 0..<pieces where rows > 0 {
                    for si in first[p]...last[p] {
                        let base = offsets[p] + (si - first[p]) * L * n
                        for k in 0..<n {
                            let to = si * seqStride + k * stateStride
                            for t in 0..<L { dst[to + t] += src[base + t * n + k] }
                        }
                    }
                }
            } }
            return Tensor(shape: b.shape, data: out)
        }
        return [Tensor(shape: outShape, data: du), Tensor(shape: outShape, data: dd), Tensor(shape: [E, n], data: da),
                stateMajor(localDB), stateMajor(localDC)]
    }
}
