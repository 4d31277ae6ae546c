import CNumerics
import SSMCore

// Separable N-D convolution as a chain of small matrix products.
//
// S4ND's kernel is an outer product of one 1-D kernel per axis (`K = k₁ ⊗ k₂ ⊗ … ⊗ kₙ` for each
// channel), so the linear N-D convolution factorises into one 1-D convolution per axis. A linear 1-D
// convolution of a length-L signal is a multiplication by an L×L Toeplitz matrix, so for an image
// channel `Y = T₁ · U · T₂ᵀ` and in general `Y = U ×₁ T₁ ×₂ T₂ … ×ₙ Tₙ` (mode products).
//
// This is the same linear map the official code computes with a zero-padded N-D FFT (the padded
// length `P = L + Lk` leaves no circular wrap-around), done instead with GEMMs: for the sizes S4ND is
// used at (a few dozen to a few hundred pixels per axis) it costs fewer and far faster flops.

/// Builds one Toeplitz matrix per channel from a kernel laid out in its padded convolution domain.
///
/// `kpad` `(H, P)` holds a kernel the way an FFT convolution of padded length `P ≥ L` would use it:
/// non-negative lags `d` at `kpad[d]`, negative lags at `kpad[P + d]` (a causal kernel has zeros
/// there). Returns `T` `(H, L, L)` with `T[h, i, j] = kpad[h, (i − j) mod P]`, so that
/// `y[i] = Σⱼ T[i, j] · u[j]` equals the length-`P` circular convolution restricted to `[0, L)` of `u`
/// zero-padded to `P`. For that to be a linear convolution, `P` must be at least `L + Lk` where `Lk` is
/// the kernel support on either side, as in S4ND's layout.
///
/// Backward: `dkpad[h, (i − j) mod P] += dT[h, i, j]` (sums along diagonals).
public func toeplitz(_ kpad: Variable, length L: Int) -> Variable {
    precondition(kpad.shape.count == 2, "toeplitz expects (H, P), got \(kpad.shape)")
    let H = kpad.shape[0], P = kpad.shape[1]
    precondition(P >= L && L > 0, "padded kernel length \(P) must be ≥ signal length \(L) > 0")
    var out = [Float](repeating: 0, count: H * L * L)
    kpad.value.data.withUnsafeBufferPointer { k in
        out.withUnsafeMutableBufferPointer { t in
            for h in 0..<H {
                let kb = h * P, tb = h * L * L
                for i in 0..<L {
                    for j in 0..<L {
                        let d = i - j
                        t[tb + i * L + j] = k[kb + (d >= 0 ? d : P + d)]
                    }
                }
            }
        }
    }
    return Variable(Tensor(shape: [H, L, L], data: out), parents: [kpad]) { g in
        var dk = [Float](repeating: 0, count: H * P)
        g.data.withUnsafeBufferPointer { gt in
            dk.withUnsafeMutableBufferPointer { d in
                for h in 0..<H {
                    let kb = h * P, tb = h * L * L
                    for i in 0..<L {
                        for j in 0..<L {
                            let lag = i - j
                            d[kb + (lag >= 0 ? lag : P + lag)] += gt[tb + i * L + j]
                        }
                    }
                }
            }
        }
        return [Tensor(shape: [H, P], data: dk)]
    }
}

/// Mode product along one axis, one matrix per channel.
///
/// `u` has the channel axis first, `(H, d₁, …, d_m)`; `t` is `(H, Lₐ, Lₐ)` with `Lₐ = u.shape[axis]`.
/// Viewing each channel of `u` as `(pre, Lₐ, post)`, the result is
/// `y[h, p, i, q] = Σⱼ t[h, i, j] · u[h, p, j, q]` — the same shape as `u`.
///
/// Each channel costs one GEMM when `axis` is the first or last non-channel axis and `pre` GEMMs
/// otherwise; channels run in parallel (BLAS single-threaded inside).
///
/// Backward: `du = u-shaped product with tᵀ`; `dt[h] = Σₚ dy[h, p] · u[h, p]ᵀ` (as `(Lₐ, post)` blocks).
public func modeProduct(_ u: Variable, _ t: Variable, axis: Int) -> Variable {
    let shape = u.shape
    precondition(shape.count >= 2 && axis >= 1 && axis < shape.count, "modeProduct: bad axis \(axis) for shape \(shape)")
    let H = shape[0], La = shape[axis]
    precondition(t.shape == [H, La, La], "modeProduct: matrices \(t.shape) do not fit \(shape) along axis \(axis)")
    let pre = shape[1..<axis].reduce(1, *)
    let post = shape[(axis + 1)...].reduce(1, *)
    let y = ModeProductKernels.forward(u.value.data, t.value.data, H: H, pre: pre, La: La, post: post, transposeT: false)
    let uVal = u.value, tVal = t.value
    return Variable(Tensor(shape: shape, data: y), parents: [u, t]) { g in
        let du: Tensor? = u.requiresGrad
            ? Tensor(shape: shape, data: ModeProductKernels.forward(g.data, tVal.data, H: H, pre: pre, La: La, post: post, transposeT: true))
            : nil
        let dt: Tensor? = t.requiresGrad
            ? Tensor(shape: [H, La, La], data: ModeProductKernels.weightGradient(g.data, uVal.data, H: H, pre: pre, La: La, post: post))
            : nil
        return [du, dt]
    }
}

enum ModeProductKernels {
    /// `y[h,p,:,:] = T_h (or T_hᵀ) · x[h,p,:,:]` with blocks `(La, post)`.
    static func forward(_ x: [Float], _ t: [Float], H: Int, pre: Int, La: Int, post: Int, transposeT: Bool) -> [Float] {
        var y = [Float](repeating: 0, count: H * pre * La * post)
        let plane = pre * La * post
        let transT = transposeT ? CblasTrans : CblasNoTrans
        x.withUnsafeBufferPointer { xp in
            t.withUnsafeBufferPointer { tp in
                y.withUnsafeMutableBufferPointer { yp in
                    let xb = xp.baseAddress!, tb = tp.baseAddress!, yb = yp.baseAddress!
                    do {
                        Parallel.forEach(H) { h in
                            let th = tb + h * La * La
                            let xh = xb + h * plane, yh = yb + h * plane
                            if post == 1 {
                                // (pre × La) · T_hᵀ  (or · T_h when transposed)
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeT ? CblasNoTrans : CblasTrans,
                                            Int32(pre), Int32(La), Int32(La), 1, xh, Int32(La), th, Int32(La), 0, yh, Int32(La))
                            } else {
                                for p in 0..<pre {
                                    let off = p * La * post
                                    cblas_sgemm(CblasRowMajor, transT, CblasNoTrans,
                                                Int32(La), Int32(post), Int32(La), 1, th, Int32(La), xh + off, Int32(post), 0, yh + off, Int32(post))
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// `dT_h = Σₚ dy[h,p] · x[h,p]ᵀ` with blocks `(La, post)`.
    static func weightGradient(_ dy: [Float], _ x: [Float], H: Int, pre: Int, La: Int, post: Int) -> [Float] {
        var dt = [Float](repeating: 0, count: H * La * La)
        let plane = pre * La * post
        dy.withUnsafeBufferPointer { gp in
            x.withUnsafeBufferPointer { xp in
                dt.withUnsafeMutableBufferPointer { dp in
                    let gb = gp.baseAddress!, xb = xp.baseAddress!, db = dp.baseAddress!
                    do {
                        Parallel.forEach(H) { h in
                            let gh = gb + h * plane, xh = xb + h * plane, dh = db + h * La * La
                            if post == 1 {
                                // dyᵀ (La × pre) · x (pre × La)
                                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                                            Int32(La), Int32(La), Int32(pre), 1, gh, Int32(La), xh, Int32(La), 0, dh, Int32(La))
                            } else {
                                for p in 0..<pre {
                                    let off = p * La * post
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                                Int32(La), Int32(La), Int32(post), 1, gh + off, Int32(post), xh + off, Int32(post),
                                                p == 0 ? 0 : 1, dh, Int32(La))
                                }
                            }
                        }
                    }
                }
            }
        }
        return dt
    }
}
