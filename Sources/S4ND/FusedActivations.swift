import CNumerics
import SSMCore

// Fused element-wise stages of the S4ND layer: one pass over memory each, parallel over channels,
// with vectorisable maths (`fastExp`, `normalCDFAndPDF`). Each has a finite-difference test.

/// `gelu(y + D[h] · u)` for channel-first `y`, `u` `(H, …)` and `D` `(1, H)` — the skip connection and
/// the exact (erf) GELU in one op.
///
/// Backward with `z = y + D·u`: `∂z = g · (Φ(z) + z·φ(z))`, `∂y = ∂z`, `∂u = D·∂z`, `∂D[h] = Σ ∂z·u`.
public func skipGELU(_ y: Variable, _ u: Variable, _ D: Variable) -> Variable {
    let shape = y.shape, H = shape[0]
    precondition(u.shape == shape && D.value.count == H, "skipGELU: y \(shape), u \(u.shape), D \(D.shape)")
    let n = y.value.count / max(H, 1)
    var z = [Float](repeating: 0, count: y.value.count)
    var out = [Float](repeating: 0, count: y.value.count)
    y.value.data.withUnsafeBufferPointer { yp in u.value.data.withUnsafeBufferPointer { up in
    D.value.data.withUnsafeBufferPointer { dp in z.withUnsafeMutableBufferPointer { zp in out.withUnsafeMutableBufferPointer { op in
        let yb = yp.baseAddress!, ub = up.baseAddress!, zb = zp.baseAddress!, ob = op.baseAddress!
        Parallel.forEach(H) { h in
            let d = dp[h], base = h * n
            for i in base..<(base + n) {
                let v = yb[i] + d * ub[i]
                zb[i] = v
                ob[i] = v * normalCDFAndPDF(v).cdf
            }
        }
    } } } } }
    let uVal = u.value, dVal = D.value
    return Variable(Tensor(shape: shape, data: out), parents: [y, u, D]) { g in
        var dz = [Float](repeating: 0, count: z.count)
        var du = u.requiresGrad ? [Float](repeating: 0, count: z.count) : []
        var dD = [Float](repeating: 0, count: H)
        let needU = u.requiresGrad
        g.data.withUnsafeBufferPointer { gp in z.withUnsafeBufferPointer { zp in uVal.data.withUnsafeBufferPointer { up in
        dz.withUnsafeMutableBufferPointer { dzp in du.withUnsafeMutableBufferPointer { dup in dD.withUnsafeMutableBufferPointer { ddp in
            let gb = gp.baseAddress!, zb = zp.baseAddress!, ub = up.baseAddress!, dzb = dzp.baseAddress!
            let dub = dup.baseAddress, ddb = ddp.baseAddress!
            Parallel.forEach(H) { h in
                let d = dVal.data[h], base = h * n
                for i in base..<(base + n) {
                    let v = zb[i]
                    let (cdf, pdf) = normalCDFAndPDF(v)
                    dzb[i] = gb[i] * (cdf + v * pdf)
                }
                if needU, let dub { for i in base..<(base + n) { dub[i] = d * dzb[i] } }
                ddb[h] = cblas_sdot(Int32(n), dzb + base, 1, ub + base, 1)
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
    var out = [Float](repeating: 0, count: H * n)
    x.value.data.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in
        let xb = xp.baseAddress!, ob = op.baseAddress!
        Parallel.forEach(H) { h in
            let a = xb + h * n, b = xb + (H + h) * n, o = ob + h * n
            for i in 0..<n { o[i] = a[i] * fastSigmoid(b[i]) }
        }
    } }
    let xv = x.value
    return Variable(Tensor(shape: [1, H, n], data: out), parents: [x]) { g in
        var dx = [Float](repeating: 0, count: 2 * H * n)
        xv.data.withUnsafeBufferPointer { xp in g.data.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
            let xb = xp.baseAddress!, gb = gp.baseAddress!, db = dp.baseAddress!
            Parallel.forEach(H) { h in
                let a = xb + h * n, b = xb + (H + h) * n, gg = gb + h * n
                let da = db + h * n, dbb = db + (H + h) * n
                for i in 0..<n {
                    let s = fastSigmoid(b[i])
                    da[i] = gg[i] * s
                    dbb[i] = gg[i] * a[i] * s * (1 - s)
                }
            }
        } } }
        return [Tensor(shape: xv.shape, data: dx)]
    }
}
