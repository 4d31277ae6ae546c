import CNumerics
import Foundation

/// How a continuous diagonal SSM `x' = A x + B u` becomes a discrete one with step `dt`.
public enum Discretization: String, Sendable, Codable {
    /// Zero-order hold: `dA = exp(dt·A)`, `dB = (exp(dt·A) − 1)/A · B`.
    case zoh
    /// Bilinear (Tustin): `dA = (1 + dt·A/2)/(1 − dt·A/2)`, `dB = dt/(1 − dt·A/2) · B`.
    case bilinear
    /// The official `disc='dss'`: DSS's normalisation over the kernel's `L` positions,
    /// `K = Re Σ C·B·(e^{dtA} − 1)/((e^{dtA·L} − 1)·A) · e^{dtA·l}` (real part, no factor 2);
    /// convolution only (see ``S4DKernel``).
    case dss
}

/// The S4D (diagonal SSM) convolution kernel, as a fused autograd op with analytic gradients for
/// all five parameters.
///
/// Parameters (the official `SSMKernelDiag` layout, complex as a trailing axis of 2):
/// `invDt` `(H, 1)` (or `(H, N)`), `aReal` `(S, N)`, `aImag` `(S, N)`, `b` `(1, S, N, 2)`,
/// `c` `(C, H, N, 2)`, where `N` is half the state size (one of each conjugate pair is stored) and
/// the `S` SSM copies repeat over `H` (`h` uses copy `h mod S`).
///
///     A   = −f(aReal) − i·aImag                         (f = exp, or a StableSSM map; imaginary none)
///     dt  = exp(invDt) · rate
///     C'  = C · [dt/rate · |aImag| / 2π < bandlimit/2]   (mask only when a bandlimit is given)
///     ZOH:      K[c, h, l] = 2·Re Σ_n C'·B·(exp(dt·A) − 1)/A · exp(dt·A·l)
///     bilinear: K[c, h, l] = 2·Re Σ_n C'·B·dt/(1 − dt·A/2) · dA^l,  dA = (1 + dt·A/2)/(1 − dt·A/2)
///
/// Output `(C, H, L)`.
///
/// The Vandermonde sum runs as real GEMMs: with `l = b·Lb + j` (`Lb ≈ √L`),
/// `Σ_n W_n z_n^l = Σ_n (W_n z_n^{b·Lb}) · z_n^j`, so `K = 2·Re(X · T)` for `X` `(blocks, N)` and
/// `T` `(N, Lb)`; powers of `z` are formed in `Double`. The backward pass uses the same split for
/// `Σ_l g_l conj(z)^l` and `Σ_l g_l·l·conj(z)^l`, then the chain rule through `W` and `z`.
public func s4dKernel(invDt: Variable, aReal: Variable, aImag: Variable, b: Variable, c: Variable,
                      length L: Int, rate: Float = 1, discretization: Discretization,
                      bandlimit: Float? = nil, reparam: RealReparameterization = .exp) -> Variable {
    let modes = S4DModes(invDt: invDt.value, aReal: aReal.value, aImag: aImag.value, b: b.value, c: c.value,
                         rate: rate, discretization: discretization, bandlimit: bandlimit, reparam: reparam)
    let k = modes.kernel(length: L)
    return Variable(k, parents: [invDt, aReal, aImag, b, c]) { g in
        modes.backward(g, length: L)
    }
}

/// The discrete diagonal system `(dA, dB, dC)` of the S4D parameters (for recurrent mode):
/// `dA` `(H, N, 2)`, `dB` `(H, N, 2)`, `dC` `(C, H, N, 2)` = `C'` (masked).
public func s4dDiscreteSystem(invDt: Tensor, aReal: Tensor, aImag: Tensor, b: Tensor, c: Tensor, rate: Float = 1,
                              discretization: Discretization, bandlimit: Float? = nil,
                              reparam: RealReparameterization = .exp) -> DiagonalSystem {
    let m = S4DModes(invDt: invDt, aReal: aReal, aImag: aImag, b: b, c: c, rate: rate,
                     discretization: discretization, bandlimit: bandlimit, reparam: reparam)
    var dA = Tensor.zeros([m.H, m.N, 2]), dB = Tensor.zeros([m.H, m.N, 2]), dC = Tensor.zeros([m.C, m.H, m.N, 2])
    for h in 0..<m.H {
        for n in 0..<m.N {
            let i = h * m.N + n
            let z = m.z[i], bb = m.bScaled[i]
            dA.data[2 * i] = Float(z.re); dA.data[2 * i + 1] = Float(z.im)
            dB.data[2 * i] = Float(bb.re); dB.data[2 * i + 1] = Float(bb.im)
            for ci in 0..<m.C {
                let cm = m.cMasked(ci, h, n)
                let j = ci * m.H * m.N + i
                dC.data[2 * j] = Float(cm.re); dC.data[2 * j + 1] = Float(cm.im)
            }
        }
    }
    return DiagonalSystem(dA: dA, dB: dB, dC: dC)
}

/// A minimal complex `Double` for the per-mode arithmetic.
struct Complex64 {
    var re: Double, im: Double
    init(_ re: Double, _ im: Double = 0) { self.re = re; self.im = im }
    static let one = Complex64(1)
    static func + (a: Complex64, b: Complex64) -> Complex64 { Complex64(a.re + b.re, a.im + b.im) }
    static func - (a: Complex64, b: Complex64) -> Complex64 { Complex64(a.re - b.re, a.im - b.im) }
    static func * (a: Complex64, b: Complex64) -> Complex64 {
        Complex64(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
    }
    static func * (a: Complex64, s: Double) -> Complex64 { Complex64(a.re * s, a.im * s) }
    static func / (a: Complex64, b: Complex64) -> Complex64 {
        let d = b.re * b.re + b.im * b.im
        return Complex64((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d)
    }
    static func += (a: inout Complex64, b: Complex64) { a = a + b }
    var conjugate: Complex64 { Complex64(re, -im) }
    /// `exp(self)`.
    var exp: Complex64 { let m = Foundation.exp(re); return Complex64(m * cos(im), m * sin(im)) }
    /// Principal logarithm.
    var log: Complex64 { Complex64(Foundation.log((re * re + im * im).squareRoot()), atan2(im, re)) }
}

/// Per-mode quantities of one S4D parameter set, in `Double`.
struct S4DModes {
    let H: Int, S: Int, N: Int, C: Int
    let rate: Double
    let discretization: Discretization
    let reparam: RealReparameterization
    let dtPerMode: Bool
    let invDt: Tensor, aReal: Tensor, aImag: Tensor, b: Tensor, c: Tensor
    /// Per `(h, n)`: `A`, `dt`, `dt·A`, the Vandermonde base `z` and its log `x` (`z^l = exp(l·x)`),
    /// `B·F` with `F = (e^{dtA} − 1)/A` (ZOH) or `dt/(1 − dtA/2)` (bilinear), and the bandlimit mask.
    var A: [Complex64] = [], dt: [Double] = [], Q: [Complex64] = [], z: [Complex64] = [], x: [Complex64] = []
    var factor: [Complex64] = [], bScaled: [Complex64] = [], mask: [Double] = []

    init(invDt: Tensor, aReal: Tensor, aImag: Tensor, b: Tensor, c: Tensor, rate: Float,
         discretization: Discretization, bandlimit: Float?, reparam: RealReparameterization = .exp) {
        precondition(aReal.rank == 2 && aImag.shape == aReal.shape, "A_real/A_imag must both be (S, N): \(aReal.shape), \(aImag.shape)")
        S = aReal.shape[0]; N = aReal.shape[1]
        precondition(c.rank == 4 && c.shape[2] == N && c.shape[3] == 2, "C must be (C, H, \(N), 2), got \(c.shape)")
        C = c.shape[0]; H = c.shape[1]
        precondition(H % S == 0, "n_ssm \(S) must divide H \(H)")
        precondition(b.shape == [1, S, N, 2], "B must be [1, \(S), \(N), 2], got \(b.shape)")
        precondition(invDt.shape == [H, 1] || invDt.shape == [H, N], "inv_dt must be [\(H), 1] or [\(H), \(N)], got \(invDt.shape)")
        precondition(rate > 0, "rate must be positive, got \(rate)")
        self.rate = Double(rate)
        self.discretization = discretization
        self.reparam = reparam
        dtPerMode = invDt.shape[1] == N && N != 1
        self.invDt = invDt; self.aReal = aReal; self.aImag = aImag; self.b = b; self.c = c
        let count = H * N
        A.reserveCapacity(count); dt.reserveCapacity(count); Q.reserveCapacity(count)
        z.reserveCapacity(count); x.reserveCapacity(count); factor.reserveCapacity(count)
        bScaled.reserveCapacity(count); mask.reserveCapacity(count)
        for h in 0..<H {
            let s = h % S
            for n in 0..<N {
                let a = Complex64(-reparam.apply(Double(aReal.data[s * N + n])), -Double(aImag.data[s * N + n]))
                let id = invDt.data[dtPerMode ? h * N + n : h]
                let d = Foundation.exp(Double(id)) * self.rate
                let q = a * d
                var mk = 1.0
                if let bandlimit {
                    // Evaluated in Float, as the reference does: dt / rate · |Im A| / 2π < bandlimit / 2.
                    let freq = Foundation.exp(id) * abs(aImag.data[s * N + n]) / (2 * Float.pi)
                    mk = freq < bandlimit * 0.5 ? 1 : 0
                }
                let f: Complex64, zz: Complex64, xx: Complex64
                switch discretization {
                case .zoh:
                    xx = q
                    zz = q.exp
                    f = (zz - .one) / a
                case .dss:
                    preconditionFailure("disc='dss' is evaluated by S4DKernel's normalised path, not S4DModes")
                case .bilinear:
                    let half = q * 0.5
                    zz = (.one + half) / (.one - half)
                    xx = zz.log
                    f = Complex64(d) / (.one - half)
                }
                let bb = Complex64(Double(b.data[2 * (s * N + n)]), Double(b.data[2 * (s * N + n) + 1]))
                A.append(a); dt.append(d); Q.append(q); z.append(zz); x.append(xx)
                factor.append(f); bScaled.append(bb * f); mask.append(mk)
            }
        }
    }

    /// `C[c, h, n]` times the bandlimit mask.
    @inline(__always) func cMasked(_ ci: Int, _ h: Int, _ n: Int) -> Complex64 {
        let j = (ci * H + h) * N + n, m = mask[h * N + n]
        return Complex64(Double(c.data[2 * j]) * m, Double(c.data[2 * j + 1]) * m)
    }

    /// The kernel as a ``VandermondeSum``: `W = 2·C'·B·F` (the factor 2 of the conjugate pairs), `x = log z`.
    var vandermonde: VandermondeSum {
        var w = [Complex64](repeating: Complex64(0), count: C * H * N)
        for ci in 0..<C { for h in 0..<H { for n in 0..<N {
            w[(ci * H + h) * N + n] = cMasked(ci, h, n) * bScaled[h * N + n] * 2
        }}}
        return VandermondeSum(C: C, H: H, N: N, w: w, x: x)
    }

    /// `K (C, H, L)`.
    func kernel(length L: Int) -> Tensor { vandermonde.kernel(length: L) }

    /// Gradients `[inv_dt, A_real, A_imag, B, C]` from `∂K` `(C, H, L)`.
    func backward(_ g: Tensor, length L: Int) -> [Tensor?] {
        // S0 = Σ_l g_l conj(z)^l,  S1 = Σ_l g_l·l·conj(z)^l per (c, h, n).
        let (s0, s1) = vandermonde.moments(g, length: L)
        // Per-(h, n) gradients of A, B (complex) and dt (real); reduced over the H/S repeats below.
        var gA = [Complex64](repeating: Complex64(0), count: H * N)
        var gB = [Complex64](repeating: Complex64(0), count: H * N)
        var gDt = [Double](repeating: 0, count: H * N)
        var gC = Tensor.zeros(c.shape)
        for h in 0..<H {
            for n in 0..<N {
                let i = h * N + n
                var gx = Complex64(0), gF = Complex64(0), gBsum = Complex64(0)
                let bRaw = Complex64(Double(b.data[2 * ((h % S) * N + n)]), Double(b.data[2 * ((h % S) * N + n) + 1]))
                for ci in 0..<C {
                    let j = (ci * H + h) * N + n
                    let cm = cMasked(ci, h, n)
                    let w = cm * bScaled[i]
                    let gW = s0[j] * 2                      // ∂L/∂W (complex gradient convention)
                    gx += w.conjugate * s1[j] * 2           // ∂L/∂x, x = log z
                    gF += (cm * bRaw).conjugate * gW
                    gBsum += (cm * factor[i]).conjugate * gW
                    let gc = (bScaled[i]).conjugate * gW * mask[i]
                    gC.data[2 * j] = Float(gc.re)
                    gC.data[2 * j + 1] = Float(gc.im)
                }
                // Chain rule through F(dt, A) and x(dt, A).
                let a = A[i], d = dt[i], q = Q[i]
                let dFdA: Complex64, dFdDt: Complex64, dxdA: Complex64, dxdDt: Complex64
                switch discretization {
                case .zoh:
                    let e = z[i]
                    dFdA = e * d / a - (e - .one) / (a * a)
                    dFdDt = e
                    dxdA = Complex64(d)
                    dxdDt = a
                case .dss:
                    preconditionFailure("disc='dss' has no S4DModes gradient")
                case .bilinear:
                    let den = Complex64.one - q * 0.5
                    dFdA = Complex64(d * d * 0.5) / (den * den)
                    dFdDt = Complex64.one / (den * den)
                    let r = Complex64.one / (Complex64.one - q * q * 0.25)
                    dxdA = r * d
                    dxdDt = a * r
                }
                gA[i] = dFdA.conjugate * gF + dxdA.conjugate * gx
                gDt[i] = (dFdDt.conjugate * gF + dxdDt.conjugate * gx).re
                gB[i] = gBsum
            }
        }
        // Reduce over the repeats of each SSM copy and through the parameter transforms.
        var gInvDt = Tensor.zeros(invDt.shape), gAReal = Tensor.zeros(aReal.shape), gAImag = Tensor.zeros(aImag.shape)
        var gBt = Tensor.zeros(b.shape)
        var accA = [Complex64](repeating: Complex64(0), count: S * N), accB = accA
        for h in 0..<H {
            let s = h % S
            var sum = 0.0
            for n in 0..<N {
                let i = h * N + n
                accA[s * N + n] += gA[i]
                accB[s * N + n] += gB[i]
                // dt = exp(inv_dt)·rate  ⇒  ∂dt/∂inv_dt = dt.
                if dtPerMode { gInvDt.data[i] = Float(gDt[i] * dt[i]) } else { sum += gDt[i] * dt[i] }
            }
            if !dtPerMode { gInvDt.data[h] = Float(sum) }
        }
        for s in 0..<S {
            for n in 0..<N {
                let j = s * N + n
                // A = −f(A_real) − i·A_imag  (f = exp unless reparameterised).
                gAReal.data[j] = Float(-reparam.derivative(Double(aReal.data[j])) * accA[j].re)
                gAImag.data[j] = Float(-accA[j].im)
                gBt.data[2 * j] = Float(accB[j].re)
                gBt.data[2 * j + 1] = Float(accB[j].im)
            }
        }
        return [gInvDt, gAReal, gAImag, gBt, gC]
    }
}
