import CKernels
import Foundation

/// Mamba's selective scan (S6) on a CPU, as a fused op with its exact backward:
///
///     h[b, e, n, t] = exp(Δ[b, e, t]·A[e, n]) · h[b, e, n, t−1] + Δ[b, e, t]·B[b, n, t]·u[b, e, t]
///     y[b, e, t]    = Σ_n C[b, n, t] · h[b, e, n, t]
///
/// (ZOH for `A`, Euler for `B`, as the reference; `D·u` and the gate are ordinary ops outside.)
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
    let uv = u.value.data, dv = delta.value.data, av = a.value.data
    let rows = bsz * e
    // B and C time-major, (B, L, N): the inner loop over the N states reads contiguous memory.
    func timeMajor(_ t: Tensor) -> [Float] {
        var out = [Float](repeating: 0, count: bsz * L * n)
        for bi in 0..<bsz { for k in 0..<n { for s in 0..<L { out[(bi * L + s) * n + k] = t.data[(bi * n + k) * L + s] } } }
        return out
    }
    let bt = timeMajor(b.value), ct = timeMajor(c.value)
    var y = Tensor.zeros([bsz, e, L])
    // Rows in chunks across the cores; each row runs in C (`ssm_selective_scan_row`, the state loop
    // vectorised with the fast exp, fp32 as the reference).
    uv.withUnsafeBufferPointer { up in dv.withUnsafeBufferPointer { dp in av.withUnsafeBufferPointer { ap in
    bt.withUnsafeBufferPointer { bp in ct.withUnsafeBufferPointer { cp in y.data.withUnsafeMutableBufferPointer { yb in
        let (up, dp, ap, bp, cp, yb) = (up, dp, ap, bp, cp, yb)
        Parallel.forEachChunk(rows, minimumChunk: 8) { range in
            var h = [Float](repeating: 0, count: n)
            for row in range {
                let bi = row / e, ei = row % e
                ssm_selective_scan_row(up.baseAddress! + row * L, dp.baseAddress! + row * L, ap.baseAddress! + ei * n,
                                       bp.baseAddress! + bi * L * n, cp.baseAddress! + bi * L * n, L, n, &h, yb.baseAddress! + row * L)
            }
        }
    }}}}}}
    return Variable(y, parents: [u, delta, a, b, c]) { g in
        var du = [Float](repeating: 0, count: rows * L), dd = du
        var da = [Float](repeating: 0, count: e * n)
        var db = [Float](repeating: 0, count: bsz * L * n), dc = db          // time-major
        let lock = NSLock()
        uv.withUnsafeBufferPointer { up in dv.withUnsafeBufferPointer { dp in av.withUnsafeBufferPointer { ap in
        bt.withUnsafeBufferPointer { bp in ct.withUnsafeBufferPointer { cp in g.data.withUnsafeBufferPointer { gp in
        du.withUnsafeMutableBufferPointer { dub in dd.withUnsafeMutableBufferPointer { ddb in
            let (up, dp, ap, bp, cp, gp, dub, ddb) = (up, dp, ap, bp, cp, gp, dub, ddb)
            Parallel.forEachChunk(rows, minimumChunk: 8) { range in
                // Per chunk: one row's states and decays, and the chunk's share of dA, dB, dC.
                var hs = [Float](repeating: 0, count: n * L), at = hs, dh = [Float](repeating: 0, count: n)
                var localDA = [Float](repeating: 0, count: e * n)
                var localDB = [Float](repeating: 0, count: bsz * L * n), localDC = localDB
                localDA.withUnsafeMutableBufferPointer { lda in localDB.withUnsafeMutableBufferPointer { ldb in
                localDC.withUnsafeMutableBufferPointer { ldc in
                    for row in range {
                        let bi = row / e, ei = row % e, off = row * L, boff = bi * L * n
                        ssm_selective_scan_row_backward(up.baseAddress! + off, dp.baseAddress! + off, ap.baseAddress! + ei * n,
                                                        bp.baseAddress! + boff, cp.baseAddress! + boff, gp.baseAddress! + off, L, n,
                                                        &hs, &at, &dh, dub.baseAddress! + off, ddb.baseAddress! + off,
                                                        lda.baseAddress! + ei * n, ldb.baseAddress! + boff, ldc.baseAddress! + boff)
                    }
                }}}
                lock.lock()
                for i in 0..<(e * n) { da[i] += localDA[i] }
                for i in 0..<(bsz * L * n) { db[i] += localDB[i]; dc[i] += localDC[i] }
                lock.unlock()
            }
        }}}}}}}}
        // Back to (B, N, L).
        func channelMajor(_ v: [Float]) -> Tensor {
            var out = Tensor.zeros([bsz, n, L])
            for bi in 0..<bsz { for s in 0..<L { for k in 0..<n { out.data[(bi * n + k) * L + s] = v[(bi * L + s) * n + k] } } }
            return out
        }
        return [Tensor(shape: [bsz, e, L], data: du), Tensor(shape: [bsz, e, L], data: dd), Tensor(shape: [e, n], data: da),
                channelMajor(db), channelMajor(dc)]
    }
}
