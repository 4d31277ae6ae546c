import Foundation

/// Mamba's selective scan (S6) on a CPU, as a fused op with its exact backward:
///
///     h[b, e, n, t] = exp(Δ[b, e, t]·A[e, n]) · h[b, e, n, t−1] + Δ[b, e, t]·B[b, n, t]·u[b, e, t]
///     y[b, e, t]    = Σ_n C[b, n, t] · h[b, e, n, t]
///
/// (ZOH for `A`, Euler for `B`, as the reference; `D·u` and the gate are ordinary ops outside.)
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
    let uv = u.value.data, dv = delta.value.data, av = a.value.data, bv = b.value.data, cv = c.value.data
    var y = Tensor.zeros([bsz, e, L])
    y.data.withUnsafeMutableBufferPointer { yb in
        let yb = yb
        Parallel.forEach(bsz * e) { row in
            let bi = row / e, ei = row % e
            var h = [Double](repeating: 0, count: n)
            for t in 0..<L {
                let i = row * L + t, dt = Double(dv[i]), x = Double(uv[i])
                var acc = 0.0
                for k in 0..<n {
                    let j = (bi * n + k) * L + t
                    h[k] = Foundation.exp(dt * Double(av[ei * n + k])) * h[k] + dt * Double(bv[j]) * x
                    acc += Double(cv[j]) * h[k]
                }
                yb[i] = Float(acc)
            }
        }
    }
    return Variable(y, parents: [u, delta, a, b, c]) { g in
        var du = [Float](repeating: 0, count: bsz * e * L), dd = du
        var da = [Double](repeating: 0, count: e * n)
        var db = [Double](repeating: 0, count: bsz * n * L), dc = db
        let lock = NSLock()
        du.withUnsafeMutableBufferPointer { dub in dd.withUnsafeMutableBufferPointer { ddb in
            let (dub, ddb) = (dub, ddb)
            Parallel.forEach(bsz * e) { row in
                let bi = row / e, ei = row % e
                // Recompute this row's states h[n][t] (after step t).
                var hs = [Double](repeating: 0, count: n * L), h = [Double](repeating: 0, count: n)
                var aT = [Double](repeating: 0, count: n * L)
                for t in 0..<L {
                    let i = row * L + t, dt = Double(dv[i]), x = Double(uv[i])
                    for k in 0..<n {
                        let at = Foundation.exp(dt * Double(av[ei * n + k]))
                        h[k] = at * h[k] + dt * Double(bv[(bi * n + k) * L + t]) * x
                        hs[k * L + t] = h[k]; aT[k * L + t] = at
                    }
                }
                var dh = [Double](repeating: 0, count: n)
                var localDA = [Double](repeating: 0, count: n)
                var localDB = [Double](repeating: 0, count: n * L), localDC = localDB
                for t in stride(from: L - 1, through: 0, by: -1) {
                    let i = row * L + t, dt = Double(dv[i]), x = Double(uv[i]), gt = Double(g.data[i])
                    var sumB = 0.0, sumA = 0.0
                    for k in 0..<n {
                        let j = (bi * n + k) * L + t
                        let next = t + 1 < L ? aT[k * L + t + 1] * dh[k] : 0
                        dh[k] = next + gt * Double(cv[j])
                        let prev = t > 0 ? hs[k * L + t - 1] : 0
                        let ah = aT[k * L + t] * prev                               // a_t h_{t−1}
                        sumB += dh[k] * Double(bv[j])
                        sumA += dh[k] * Double(av[ei * n + k]) * ah
                        localDA[k] += dt * dh[k] * ah
                        localDB[k * L + t] += dh[k] * dt * x
                        localDC[k * L + t] += gt * hs[k * L + t]
                    }
                    dub[i] = Float(dt * sumB)
                    ddb[i] = Float(x * sumB + sumA)
                }
                lock.lock()
                for k in 0..<n {
                    da[ei * n + k] += localDA[k]
                    for t in 0..<L { db[(bi * n + k) * L + t] += localDB[k * L + t]; dc[(bi * n + k) * L + t] += localDC[k * L + t] }
                }
                lock.unlock()
            }
        }}
        return [Tensor(shape: [bsz, e, L], data: du), Tensor(shape: [bsz, e, L], data: dd), Tensor(shape: [e, n], data: da.map(Float.init)),
                Tensor(shape: [bsz, n, L], data: db.map(Float.init)), Tensor(shape: [bsz, n, L], data: dc.map(Float.init))]
    }
}
