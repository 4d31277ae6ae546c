import CKernels
import SSMCore

// Fused element-wise stages of the S4ND layer: one pass over memory each, parallel over channels,
// through the AVX2/FMA kernels of CKernels. Each has a finite-difference test.

/// `gelu(y + D[h] · u)` for channel-first `y`, `u` `(H, …)` and `D` `(1, H)` — the skip connection and
/// the exact (erf) GELU in one op.
///
/// Backward with `z = y + D·u`: `∂z = g · (Φ(z) + z·φ(z))`, `∂y = ∂z`, `∂u = D·∂z`, `∂D[h] = Σ ∂z·u`.
public func skipGELU(_ y: Variable, _ u: Variable, _ D: Variable) -> Variable {
    let shape = y.shape, H = shape[0]
    precondition(u.shape == shape && D.value.count == H, "skipGELU: y \(shape), u \(u.shape), D \(D.shape)")
    let count = y.value.count, n = count / max(H, 1)
    // z = y + D·u is kept for the backward pass only when a gradient will be asked for.
    let keep = Autograd.isRecording && (y.requiresGrad || u.requiresGrad || D.requiresGrad)
    var z = keep ? Tensor.uninitialized(count) : []
    var out = Tensor.uninitialized(count)
    y.value.data.withUnsafeBufferPointer { yp in u.value.data.withUnsafeBufferPointer { up in
    D.value.data.withUnsafeBufferPointer { dp in z.withUnsafeMutableBufferPointer { zp in out.withUnsafeMutableBufferPointer { op in
        let yb = yp.baseAddress!, ub = up.baseAddress!, zb = keep ? zp.baseAddress : nil, ob = op.baseAddress!
        Parallel.forEach(H) { h in
            let base = h * n
            ssm_skip_gelu_forward(yb + base, ub + base, dp[h], ob + base, zb.map { $0 + base }, n)
        }
    } } } } }
    let uVal = u.value, dVal = D.value
    return Variable(Tensor(shape: shape, data: out), parents: [y, u, D]) { g in
        var dz = Tensor.uninitialized(count)
        let needU = u.requiresGrad
        var du = needU ? Tensor.uninitialized(count) : []
        var dD = [Float](repeating: 0, count: H)
        g.data.withUnsafeBufferPointer { gp in z.withUnsafeBufferPointer { zp in uVal.data.withUnsafeBufferPointer { up in
        dz.withUnsafeMutableBufferPointer { dzp in du.withUnsafeMutableBufferPointer { dup in dD.withUnsafeMutableBufferPointer { ddp in
            let gb = gp.baseAddress!, zb = zp.baseAddress!, ub = up.baseAddress!, dzb = dzp.baseAddress!
            let dub = needU ? dup.baseAddress : nil, ddb = ddp.baseAddress!
            Parallel.forEach(H) { h in
                let base = h * n
                ddb[h] = ssm_skip_gelu_backward(gb + base, zb + base, ub + base, dVal.data[h], dzb + base,
                                                dub.map { $0 + base }, n)
            }
        } } } } } }
        return [Tensor(shape: shape, data: dz), needU ? Tensor(shape: shape, data: du) : nil, Tensor(shape: D.shape, data: dD)]
    }
}

/// GLU over the channel axis of a `(1, 2H, N)` tensor: `out[h] = x[h] · σ(x[H + h])`, `(1, H, N)`.
///
/// Backward: `∂a = g·σ(b)`, `∂b = g·a·σ(b)·(1 − σ(b))`.
public func gluChannels(_ x: Variable) -> Variable {
    precondition(x.shape.count == 3 && x.shape[0] == 1 && x.shape[1] % 2 == 0, "gluChannels expects (1, 2H, N), got \(x.shape)")
    let H = x.shape[1] / 2, n = x.shape[2]
    var out = Tensor.uninitialized(H * n)
    x.value.data.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in
        let xb = xp.baseAddress!, ob = op.baseAddress!
        Parallel.forEach(H) { h in ssm_glu_forward(xb + h * n, xb + (H + h) * n, ob + h * n, n) }
    } }
    let xv = x.value
    return Variable(Tensor(shape: [1, H, n], data: out), parents: [x]) { g in
        var dx = Tensor.uninitialized(2 * H * n)
        xv.data.withUnsafeBufferPointer { xp in g.data.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
            let xb = xp.baseAddress!, gb = gp.baseAddress!, db = dp.baseAddress!
            Parallel.forEach(H) { h in
                ssm_glu_backward(xb + h * n, xb + (H + h) * n, gb + h * n, db + h * n, db + (H + h) * n, n)
            }
        } } }
        return [Tensor(shape: xv.shape, data: dx)]
    }
}

/// Inference-only fusion of ``linearChannels(_:_:_:)`` `H → 2H` and ``gluChannels(_:)`` on `x`
/// `(1, H, N)`: the `2H` pre-activations exist only for `columns` positions at a time, so a large
/// input never holds the doubled tensor. Same values as the two ops; no gradient (use the two ops
/// when recording).
public func linearGLUChannelsInference(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, columns: Int = 2048) -> Tensor {
    precondition(x.rank == 3 && x.shape[0] == 1 && weight.rank == 2 && weight.shape[1] == x.shape[1] && weight.shape[0] % 2 == 0,
                 "linearGLUChannelsInference: x \(x.shape), weight \(weight.shape)")
    let cin = x.shape[1], n = x.shape[2], cout = weight.shape[0], H = cout / 2
    var out = Tensor.uninitialized(H * n)
    let pieces = (n + columns - 1) / columns
    x.data.withUnsafeBufferPointer { xp in weight.data.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in
        let (xb, wb, ob) = (xp.baseAddress!, wp.baseAddress!, op.baseAddress!)
        Parallel.forEach(pieces) { p in
            let j0 = p * columns, q = min(columns, n - j0)
            var scratch = [Float](repeating: 0, count: cout * q)
            scratch.withUnsafeMutableBufferPointer { sp in
                let sb = sp.baseAddress!
                if let bias { for o in 0..<cout { (sb + o * q).update(repeating: bias.data[o], count: q) } }
                // (2H, H) × (H, q) columns j0… of x (row stride n) → (2H, q)
                BLAS.sgemm(m: cout, n: q, k: cin, a: wb, lda: cin, b: xb + j0, ldb: n, beta: bias == nil ? 0 : 1, c: sb, ldc: q)
                for h in 0..<H { ssm_glu_forward(sb + h * q, sb + (H + h) * q, ob + h * n + j0, q) }
            }
        }
    } } }
    return Tensor(shape: [1, H, n], data: out)
}
