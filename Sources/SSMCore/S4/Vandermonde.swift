import CNumerics
import Foundation

/// The diagonal-SSM kernel sum every diagonal kernel reduces to:
///
///     K[c, h, l] = Re Σ_n W[c, h, n] · z[h, n]^l,   z = exp(x),  l = 0 … L−1
///
/// `weights` `(C, H, N)` and `logBase` `(H, N)` are complex planes (S4D, DSS, DLR, EMA and
/// Liquid-S4 build them from their own parameters with ordinary ops; the factor 2 of a
/// conjugate-pair sum belongs in `W`). Output `(C, H, L)`.
///
/// Gradients (real-pair convention): `∂W = Σ_l g_l · conj(z^l)`, `∂x = Σ_c conj(W) · Σ_l g_l · l · conj(z^l)`.
public func vandermondeKernel(weights w: ComplexVariable, logBase x: ComplexVariable, length L: Int) -> Variable {
    precondition(w.shape.count == 3 && x.shape.count == 2 && Array(w.shape.dropFirst()) == x.shape,
                 "vandermondeKernel: weights must be (C, H, N) and logBase (H, N), got \(w.shape), \(x.shape)")
    let sum = VandermondeSum(weights: w, logBase: x)
    let k = sum.kernel(length: L)
    return Variable(k, parents: [w.re, w.im, x.re, x.im]) { g in
        let (gW, gx) = sum.gradients(g, length: L)
        return [gW.re, gW.im, gx.re, gx.im]
    }
}

/// Complex planes of plain values.
struct ComplexPlanes {
    var re: Tensor, im: Tensor
}

/// The blocked evaluation behind ``vandermondeKernel(weights:logBase:length:)``: with
/// `l = b·Lb + j` (`Lb ≈ √L`), `Σ_n W_n z_n^l = Σ_n (W_n z_n^{b·Lb}) · z_n^j`, so the kernel is
/// `Re(X · T)` for `X` `(C·blocks, N)` and `T` `(N, Lb)` — real GEMMs; powers are formed in `Double`.
/// The gradient uses the same split for `Σ_l g_l conj(z)^l` and `Σ_l g_l·l·conj(z)^l`.
struct VandermondeSum {
    let C: Int, H: Int, N: Int
    /// `W` `(C, H, N)` and `x` `(H, N)` in `Double`.
    let w: [Complex64], x: [Complex64]

    init(weights: ComplexVariable, logBase: ComplexVariable) {
        C = weights.shape[0]; H = weights.shape[1]; N = weights.shape[2]
        let wr = weights.re.value.data, wi = weights.im.value.data
        let xr = logBase.re.value.data, xi = logBase.im.value.data
        w = (0..<(C * H * N)).map { Complex64(Double(wr[$0]), Double(wi[$0])) }
        x = (0..<(H * N)).map { Complex64(Double(xr[$0]), Double(xi[$0])) }
    }

    init(C: Int, H: Int, N: Int, w: [Complex64], x: [Complex64]) {
        precondition(w.count == C * H * N && x.count == H * N, "VandermondeSum: sizes do not match (C, H, N) = (\(C), \(H), \(N))")
        self.C = C; self.H = H; self.N = N; self.w = w; self.x = x
    }

    /// Block length `Lb ≈ √L` and block count.
    static func blocks(_ L: Int) -> (Int, Int) {
        let lb = max(1, Int(Double(L).squareRoot().rounded(.up)))
        return (lb, (L + lb - 1) / lb)
    }

    /// `table[n][j] = z_n^j` (`j < Lb`), `anchor[n][b] = z_n^{b·Lb}` for feature `h`.
    func powers(_ h: Int, lb: Int, nb: Int, table: inout [Complex64], anchor: inout [Complex64]) {
        for n in 0..<N {
            let xi = x[h * N + n], zi = xi.exp
            var t = Complex64.one
            for j in 0..<lb { table[n * lb + j] = t; t = t * zi }
            let step = (xi * Double(lb)).exp
            var a = Complex64.one
            for b in 0..<nb { anchor[n * nb + b] = a; a = a * step }
        }
    }

    /// `K (C, H, L)`.
    func kernel(length L: Int) -> Tensor {
        precondition(L >= 1, "kernel length must be positive, got \(L)")
        let (lb, nb) = VandermondeSum.blocks(L)
        var out = Tensor.zeros([C, H, L])
        out.data.withUnsafeMutableBufferPointer { ob in
            let op = ob.baseAddress!
            parallelRanges(H) { range in
                var table = [Complex64](repeating: .one, count: N * lb), anchor = [Complex64](repeating: .one, count: N * nb)
                var xmat = [Float](repeating: 0, count: C * nb * 2 * N)   // (C·nb, 2N): [Re, −Im] of W·anchor
                var tmat = [Float](repeating: 0, count: 2 * N * lb)       // (2N, Lb):   [Re; Im] of z^j
                var kmat = [Float](repeating: 0, count: C * nb * lb)      // (C·nb, Lb)
                for h in range {
                    powers(h, lb: lb, nb: nb, table: &table, anchor: &anchor)
                    for n in 0..<N {
                        for j in 0..<lb {
                            tmat[n * lb + j] = Float(table[n * lb + j].re)
                            tmat[(N + n) * lb + j] = Float(table[n * lb + j].im)
                        }
                    }
                    for ci in 0..<C {
                        for n in 0..<N {
                            let wv = w[(ci * H + h) * N + n]
                            for b in 0..<nb {
                                let v = wv * anchor[n * nb + b]
                                let row = (ci * nb + b) * 2 * N
                                xmat[row + n] = Float(v.re)
                                xmat[row + N + n] = Float(-v.im)
                            }
                        }
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(C * nb), Int32(lb), Int32(2 * N),
                                1, xmat, Int32(2 * N), tmat, Int32(lb), 0, &kmat, Int32(lb))
                    for ci in 0..<C {
                        let dst = op + (ci * H + h) * L
                        kmat.withUnsafeBufferPointer { km in dst.update(from: km.baseAddress! + ci * nb * lb, count: L) }
                    }
                }
            }
        }
        return out
    }

    /// Per `(c, h, n)`: `S0 = Σ_l g_l conj(z)^l` and `S1 = Σ_l g_l·l·conj(z)^l`, from `∂K` `(C, H, L)`.
    func moments(_ g: Tensor, length L: Int) -> (s0: [Complex64], s1: [Complex64]) {
        precondition(g.shape == [C, H, L], "VandermondeSum: gradient shape \(g.shape) != \([C, H, L])")
        let (lb, nb) = VandermondeSum.blocks(L)
        var s0 = [Complex64](repeating: Complex64(0), count: C * H * N), s1 = s0
        g.data.withUnsafeBufferPointer { gb in
        s0.withUnsafeMutableBufferPointer { s0b in
        s1.withUnsafeMutableBufferPointer { s1b in
            let gp = gb.baseAddress!, s0p = s0b.baseAddress!, s1p = s1b.baseAddress!
            parallelRanges(H) { range in
                var table = [Complex64](repeating: .one, count: N * lb), anchor = [Complex64](repeating: .one, count: N * nb)
                var gmat = [Float](repeating: 0, count: C * nb * lb)   // (C·nb, Lb) ∂K in blocks, zero-padded
                var tmat = [Float](repeating: 0, count: lb * 4 * N)    // (Lb, 4N): conj(z^j), j·conj(z^j)
                var rmat = [Float](repeating: 0, count: C * nb * 4 * N)
                for h in range {
                    powers(h, lb: lb, nb: nb, table: &table, anchor: &anchor)
                    for j in 0..<lb {
                        for n in 0..<N {
                            let t = table[n * lb + j]
                            let row = j * 4 * N
                            tmat[row + n] = Float(t.re)
                            tmat[row + N + n] = Float(-t.im)
                            tmat[row + 2 * N + n] = Float(Double(j) * t.re)
                            tmat[row + 3 * N + n] = Float(-Double(j) * t.im)
                        }
                    }
                    for ci in 0..<C {
                        let src = gp + (ci * H + h) * L
                        gmat.withUnsafeMutableBufferPointer { gm in
                            let d = gm.baseAddress! + ci * nb * lb
                            d.update(from: src, count: L)
                            (d + L).update(repeating: 0, count: nb * lb - L)
                        }
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(C * nb), Int32(4 * N), Int32(lb),
                                1, gmat, Int32(lb), tmat, Int32(4 * N), 0, &rmat, Int32(4 * N))
                    for ci in 0..<C {
                        for n in 0..<N {
                            var a0 = Complex64(0), a1 = Complex64(0)
                            for b in 0..<nb {
                                let r = (ci * nb + b) * 4 * N
                                let m0 = Complex64(Double(rmat[r + n]), Double(rmat[r + N + n]))
                                let m1 = Complex64(Double(rmat[r + 2 * N + n]), Double(rmat[r + 3 * N + n]))
                                let ac = anchor[n * nb + b].conjugate
                                a0 += ac * m0
                                a1 += ac * (m0 * Double(b * lb) + m1)
                            }
                            let i = (ci * H + h) * N + n
                            s0p[i] = a0; s1p[i] = a1
                        }
                    }
                }
            }
        }}}
        return (s0, s1)
    }

    /// `(∂W, ∂x)` as complex values: `∂W = S0`, `∂x = Σ_c conj(W)·S1`.
    func complexGradients(_ g: Tensor, length L: Int) -> (gW: [Complex64], gx: [Complex64]) {
        let (s0, s1) = moments(g, length: L)
        var gx = [Complex64](repeating: Complex64(0), count: H * N)
        for ci in 0..<C { for i in 0..<(H * N) { gx[i] += w[ci * H * N + i].conjugate * s1[ci * H * N + i] } }
        return (s0, gx)
    }

    /// The gradients as planes `(C, H, N)` and `(H, N)`.
    func gradients(_ g: Tensor, length L: Int) -> (ComplexPlanes, ComplexPlanes) {
        let (gW, gx) = complexGradients(g, length: L)
        func planes(_ v: [Complex64], _ shape: [Int]) -> ComplexPlanes {
            ComplexPlanes(re: Tensor(shape: shape, data: v.map { Float($0.re) }), im: Tensor(shape: shape, data: v.map { Float($0.im) }))
        }
        return (planes(gW, [C, H, N]), planes(gx, [H, N]))
    }
}

/// A kernel whose convolution kernel is a Vandermonde sum of its parameters,
/// `K[c, h, l] = Re Σ_n W[c, h, n] · exp(x[h, n] · l)` (DSS, DLR, EMA, …): it builds `W` and `x`
/// with ordinary autograd ops, and gets the fused kernel, its gradient and the equivalent
/// recurrence (step mode) from this protocol.
public protocol VandermondeSequenceKernel: DiagonalSequenceKernel {
    /// `W` `(C, H, N)` and `x` `(H, N)` at sampling-rate multiplier `rate`, for a kernel of `length`.
    func vandermondeTerms(rate: Float, length: Int) -> (weights: ComplexVariable, logBase: ComplexVariable)
}

extension VandermondeSequenceKernel {
    public func kernel(length: Int, rate: Float) -> Variable {
        let t = vandermondeTerms(rate: rate, length: length)
        return vandermondeKernel(weights: t.weights, logBase: t.logBase, length: length)
    }

    /// The recurrence `state_t = z·state_{t−1} + u_t`, `y_t = Re Σ W·state_t` (`z = exp(x)`),
    /// whose impulse response is the kernel. `length` of the terms is taken as 1 (kernels whose
    /// terms depend on the length, like DSS-softmax, override this).
    public func discreteSystem(rate: Float) -> DiagonalSystem {
        Autograd.withoutGradients {
            let t = vandermondeTerms(rate: rate, length: 1)
            return DiagonalSystem(vandermonde: VandermondeSum(weights: t.weights, logBase: t.logBase))
        }
    }
}

extension DiagonalSystem {
    /// The recurrence of `K = Re Σ W z^l`: `dA = z`, `dB = 1`, `dC = W/2` (the step takes `2·Re`).
    init(vandermonde v: VandermondeSum) {
        var dA = Tensor.zeros([v.H, v.N, 2]), dB = Tensor.zeros([v.H, v.N, 2]), dC = Tensor.zeros([v.C, v.H, v.N, 2])
        for i in 0..<(v.H * v.N) {
            let z = v.x[i].exp
            dA.data[2 * i] = Float(z.re); dA.data[2 * i + 1] = Float(z.im)
            dB.data[2 * i] = 1
        }
        for j in 0..<(v.C * v.H * v.N) {
            dC.data[2 * j] = Float(v.w[j].re / 2); dC.data[2 * j + 1] = Float(v.w[j].im / 2)
        }
        self.init(dA: dA, dB: dB, dC: dC)
    }
}
