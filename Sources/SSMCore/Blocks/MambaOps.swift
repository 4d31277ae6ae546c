import CKernels

// Fused element-wise stages of the Mamba block on the channel-first layout `(E, S, L)` (channel,
// sequence, time): one pass over memory each, with exact backward passes, parallel over channels,
// through the AVX2/FMA kernels of CKernels (`mamba.c`). Each is tested against the composition of
// the unfused ops and against finite differences (MambaOpsTests).

/// Causal depthwise conv1d (width `W`, with bias) followed by SiLU, per channel and sequence:
/// `p[e, s, t] = bias[e] + Σ_k w[e, k]·x[e, s, t − (W−1) + k]` (zero before the start),
/// `out = p·σ(p)`. Shapes: `x` `(E, S, L)`, `weight` `(E, 1, W)` (PyTorch's depthwise `Conv1d`),
/// `bias` `(E)` → `(E, S, L)`.
///
/// Backward with `dp = g·σ(p)·(1 + p·(1 − σ(p)))`: `∂x[t] = Σ_k w[k]·dp[t + (W−1) − k]`,
/// `∂w[e, k] = Σ_{s,t} dp·x[t − (W−1) + k]`, `∂bias[e] = Σ_{s,t} dp`.
public func causalConvSiLU(_ x: Variable, weight: Variable, bias: Variable) -> Variable {
    precondition(x.value.rank == 3, "causalConvSiLU expects x (E, S, L), got \(x.shape)")
    let (E, S, L) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(weight.value.rank == 3 && weight.shape[0] == E && weight.shape[1] == 1 && bias.shape == [E],
                 "causalConvSiLU: weight (E, 1, W), bias (E) for E = \(E); got \(weight.shape), \(bias.shape)")
    let W = weight.shape[2], run = S * L, count = E * run
    // p is kept for the backward pass only when a gradient will be asked for.
    let keep = Autograd.isRecording && (x.requiresGrad || weight.requiresGrad || bias.requiresGrad)
    var pre = keep ? Tensor.uninitialized(count) : []
    var out = Tensor.uninitialized(count)
    let xv = x.value, wv = weight.value, bv = bias.value
    xv.data.withUnsafeBufferPointer { xp in wv.data.withUnsafeBufferPointer { wp in bv.data.withUnsafeBufferPointer { bp in
    pre.withUnsafeMutableBufferPointer { pp in out.withUnsafeMutableBufferPointer { op in
        let (xb, wb, bb, ob) = (xp.baseAddress!, wp.baseAddress!, bp.baseAddress!, op.baseAddress!)
        let pb = keep ? pp.baseAddress : nil
        Parallel.forEach(E) { e in
            ssm_conv_silu_forward(xb + e * run, S, L, wb + e * W, W, bb[e], pb.map { $0 + e * run }, ob + e * run)
        }
    } } } } }
    return Variable(Tensor(shape: xv.shape, data: out), parents: [x, weight, bias]) { g in
        var dx = Tensor.uninitialized(count)
        var dw = [Float](repeating: 0, count: E * W), db = [Float](repeating: 0, count: E)
        xv.data.withUnsafeBufferPointer { xp in pre.withUnsafeBufferPointer { pp in g.data.withUnsafeBufferPointer { gp in
        wv.data.withUnsafeBufferPointer { wp in dx.withUnsafeMutableBufferPointer { dxp in
        dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
            let (xb, pb, gb, wb) = (xp.baseAddress!, pp.baseAddress!, gp.baseAddress!, wp.baseAddress!)
            let (dxb, dwb, dbb) = (dxp.baseAddress!, dwp.baseAddress!, dbp.baseAddress!)
            Parallel.forEach(E) { e in
                var scratch = Tensor.uninitialized(L)
                dbb[e] = ssm_conv_silu_backward(xb + e * run, pb + e * run, gb + e * run, S, L, wb + e * W, W,
                                                dxb + e * run, dwb + e * W, &scratch)
            }
        } } } } } } }
        return [Tensor(shape: xv.shape, data: dx), Tensor(shape: wv.shape, data: dw), Tensor(shape: [E], data: db)]
    }
}

/// `scale · softplus(x)` in one pass (Mamba's `Δ` with a rate), `softplus(v) = max(v, 0) +
/// log1p(e^{−|v|})` as ``softplus(_:)``. Gradient: `(g·scale)·σ(x)`.
public func softplus(_ x: Variable, scale: Float) -> Variable {
    let xv = x.value, count = xv.count
    var out = Tensor.uninitialized(count)
    xv.data.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in
        let (xb, ob) = (xp.baseAddress!, op.baseAddress!)
        Parallel.forEachChunk(count) { r in ssm_softplus_forward(xb + r.lowerBound, scale, ob + r.lowerBound, r.count) }
    } }
    return Variable(Tensor(shape: xv.shape, data: out), parents: [x]) { g in
        var dx = Tensor.uninitialized(count)
        g.data.withUnsafeBufferPointer { gp in xv.data.withUnsafeBufferPointer { xp in dx.withUnsafeMutableBufferPointer { dp in
            let (gb, xb, db) = (gp.baseAddress!, xp.baseAddress!, dp.baseAddress!)
            Parallel.forEachChunk(count) { r in
                ssm_softplus_backward(gb + r.lowerBound, xb + r.lowerBound, scale, db + r.lowerBound, r.count)
            }
        } } }
        return [Tensor(shape: xv.shape, data: dx)]
    }
}

/// Mamba's skip and output gate in one op: `(y + D[e]·x) ⊙ SiLU(z)` with `SiLU(z) = z·σ(z)`, for
/// `y`, `x`, `z` `(E, …)` channel-first and `D` `(E)`.
///
/// Backward with `v = y + D·x`, `s = σ(z)`: `∂y = g·z·s`, `∂x = D·∂y`, `∂D[e] = Σ ∂y·x`,
/// `∂z = g·v·s·(1 + z·(1 − s))`.
public func mambaGate(_ y: Variable, _ x: Variable, d: Variable, z: Variable) -> Variable {
    let shape = y.shape, E = shape.first ?? 0
    precondition(x.shape == shape && z.shape == shape && d.value.count == E,
                 "mambaGate: y \(shape), x \(x.shape), z \(z.shape), D \(d.shape)")
    let count = y.value.count, run = count / max(E, 1)
    var out = Tensor.uninitialized(count)
    let yv = y.value, xv = x.value, zv = z.value, dv = d.value
    yv.data.withUnsafeBufferPointer { yp in xv.data.withUnsafeBufferPointer { xp in zv.data.withUnsafeBufferPointer { zp in
    dv.data.withUnsafeBufferPointer { dp in out.withUnsafeMutableBufferPointer { op in
        let (yb, xb, zb, db, ob) = (yp.baseAddress!, xp.baseAddress!, zp.baseAddress!, dp.baseAddress!, op.baseAddress!)
        Parallel.forEach(E) { e in
            ssm_mamba_gate_forward(yb + e * run, xb + e * run, db[e], zb + e * run, ob + e * run, run)
        }
    } } } } }
    return Variable(Tensor(shape: shape, data: out), parents: [y, x, d, z]) { g in
        var dy = Tensor.uninitialized(count), dx = Tensor.uninitialized(count), dz = Tensor.uninitialized(count)
        var dd = [Float](repeating: 0, count: E)
        g.data.withUnsafeBufferPointer { gp in yv.data.withUnsafeBufferPointer { yp in xv.data.withUnsafeBufferPointer { xp in
        zv.data.withUnsafeBufferPointer { zp in dv.data.withUnsafeBufferPointer { dp in
        dy.withUnsafeMutableBufferPointer { dyp in dx.withUnsafeMutableBufferPointer { dxp in dz.withUnsafeMutableBufferPointer { dzp in
        dd.withUnsafeMutableBufferPointer { ddp in
            let (gb, yb, xb, zb, db) = (gp.baseAddress!, yp.baseAddress!, xp.baseAddress!, zp.baseAddress!, dp.baseAddress!)
            let (dyb, dxb, dzb, ddb) = (dyp.baseAddress!, dxp.baseAddress!, dzp.baseAddress!, ddp.baseAddress!)
            Parallel.forEach(E) { e in
                let o = e * run
                ddb[e] = ssm_mamba_gate_backward(gb + o, yb + o, xb + o, db[e], zb + o, dyb + o, dxb + o, dzb + o, run)
            }
        } } } } } } } } }
        return [Tensor(shape: shape, data: dy), Tensor(shape: shape, data: dx), Tensor(shape: d.shape, data: dd),
                Tensor(shape: shape, data: dz)]
    }
}
