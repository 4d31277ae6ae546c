import Foundation

/// The original S4 kernel (Gu et al., 2022): a diagonal-plus-low-rank state matrix
/// `A = diag(Λ) − P Pᴴ` (conjugate pairs halved), bilinear discretisation, and the convolution
/// kernel from Cauchy sums at the roots of unity with the Woodbury correction — the official
/// `SSMKernelDPLR` with its default transforms.
///
/// Parameters (official names): `inv_dt` `(H, 1)`, `A_real`, `A_imag` `(H, N/2)`, `P` `(R, H, N/2, 2)`,
/// `B` `(1, H, N/2, 2)`, `C` `(C, H, N/2, 2)` — the official C̃, adjusted for the kernel length
/// `l_kernel` (a buffer, stored as the scalar `l_kernel`): `C̃ᵀ = Cᵀ(I − dA^{l_kernel})`, so the
/// truncated kernel of length `l_kernel` is exactly the FFT of a finite generating function.
///
///     dt = exp(inv_dt)·rate,  Λ = −f(A_real) − i·A_imag,  w = dt·Λ,  Q = conj(P)
///     L' = round(l_kernel / rate) nodes  ω_j = e^{−2πij/L'},  h_j = (1 + ω_j)/2
///     ρ[x, y] = cauchyNodes(dt·x·y, w)            (conjugate pairs included)
///     k̂_j = ρ[B, C̃] − h_j · ρ[B, Q] (I + h_j·ρ[P, Q])⁻¹ ρ[P, C̃]       (rank 1 or 2)
///     K = irfft(k̂, L')[:L]
///
/// Step mode: the bilinear discretisation of the full `A`, diagonalised once (LAPACK `zgeev`):
/// `A = V diag(μ) V⁻¹`, `z = (1 + dt·μ/2)/(1 − dt·μ/2)`, `dB = dt/(1 − dt·μ/2)·V⁻¹ f(B)`, and the output
/// weights `(Vᵀ f(C̃))_k / (1 − z_k^{l_kernel})` (C recovered from C̃ at rate 1, as the official
/// `_setup_C`); the recurrence is then a ``DiagonalSystem`` over all `N` modes.
///
/// Initialisation: HiPPO `legs`, `legt` (rank 2) or `fout` through ``HiPPO/nplr(_:_:)``, the same
/// `(Λ, P, B)` for every feature, `A_real = f⁻¹(max(−Re Λ, 1e−4))`, `log dt ~ U[log dt_min, log dt_max)`,
/// `C ~ CN(0, 1)` converted to C̃ for `l_kernel` = the layer's training length.
public final class DPLRKernel: SequenceKernel {
    public let features: Int, channels: Int, modes: Int, rank: Int
    public let reparam: RealReparameterization
    public let bandlimit: Float?
    public let invDt: Variable, aReal: Variable, aImag: Variable, p: Variable, b: Variable, c: Variable
    /// `l_kernel` (a buffer).
    public let lKernel: Variable

    public var namedParameters: [(String, Variable)] {
        [("inv_dt", invDt), ("A_real", aReal), ("A_imag", aImag), ("P", p), ("B", b), ("C", c), ("l_kernel", lKernel)]
    }

    public var kernelLength: Int { Int(lKernel.value.data[0].rounded()) }

    public init(features h: Int, channels ch: Int, stateSize n: Int, measure: HiPPO.Measure, length: Int,
                dtMin: Float = 0.001, dtMax: Float = 0.1, bandlimit: Float? = nil,
                reparam: RealReparameterization = .exp, rng: inout SeededRNG) {
        precondition(h > 0 && ch > 0 && n >= 2 && n % 2 == 0 && length > 0, "DPLRKernel needs positive sizes and an even N")
        features = h; channels = ch; modes = n / 2; rank = HiPPO.rank(measure)
        self.reparam = reparam; self.bandlimit = bandlimit
        let (lambda, pt, bt) = HiPPO.nplr(measure, n)
        let n2 = modes
        let lo = log(dtMin), hi = log(dtMax)
        invDt = Variable(Tensor(shape: [h, 1], data: (0..<h).map { _ in rng.uniform() * (hi - lo) + lo }), requiresGrad: true, name: "inv_dt")
        aReal = Variable(Tensor(shape: [h, n2], data: (0..<(h * n2)).map { Float(reparam.inverse(max(-lambda[$0 % n2].re, 1e-4))) }),
                         requiresGrad: true, name: "A_real")
        aImag = Variable(Tensor(shape: [h, n2], data: (0..<(h * n2)).map { Float(-lambda[$0 % n2].im) }), requiresGrad: true, name: "A_imag")
        var pData = [Float](), bData = [Float]()
        for r in 0..<rank { for _ in 0..<h { for k in 0..<n2 { pData += [Float(pt[r][k].re), Float(pt[r][k].im)] } } }
        for _ in 0..<h { for k in 0..<n2 { bData += [Float(bt[k].re), Float(bt[k].im)] } }
        p = Variable(Tensor(shape: [rank, h, n2, 2], data: pData), requiresGrad: true, name: "P")
        b = Variable(Tensor(shape: [1, h, n2, 2], data: bData), requiresGrad: true, name: "B")
        let scale = Float(0.5).squareRoot()
        c = Variable(Tensor(shape: [ch, h, n2, 2], data: (0..<(ch * h * n2 * 2)).map { _ in scale * rng.normal() }), requiresGrad: true, name: "C")
        lKernel = Variable(Tensor(shape: [], data: [Float(length)]), name: "l_kernel")
        for v in [invDt, aReal, aImag, p, b] { v.role = .ssm }
        // C → C̃ for l_kernel.
        let system = stateSystem()
        for hi in 0..<h {
            guard let s = system[hi] else { continue }
            for ci in 0..<ch {
                let fc = fullVector(c.value, ci, hi)
                // C̃_full = f(C) − V⁻ᵀ (Z^L ⊙ Vᵀ f(C)), first N/2 entries.
                var y = (0..<(2 * n2)).map { k in (0..<(2 * n2)).reduce(Complex64(0)) { $0 + s.v[$1, k] * fc[$1] } }
                for k in 0..<(2 * n2) { y[k] = y[k] * s.zPower(k, length) }
                guard let x = s.v.transpose.solve(ComplexMatrix(rows: 2 * n2, cols: 1, data: y)) else { continue }
                for k in 0..<n2 {
                    let v = fc[k] - x.data[k]
                    let j = ((ci * h + hi) * n2 + k) * 2
                    c.value.data[j] = Float(v.re); c.value.data[j + 1] = Float(v.im)
                }
            }
        }
    }

    /// `[x, conj(x)]` of row `(i, h)` of a `(·, H, N/2, 2)` tensor.
    func fullVector(_ t: Tensor, _ i: Int, _ h: Int) -> [Complex64] {
        let n2 = modes
        let half = (0..<n2).map { k -> Complex64 in
            let j = ((i * features + h) * n2 + k) * 2
            return Complex64(Double(t.data[j]), Double(t.data[j + 1]))
        }
        return half + half.map(\.conjugate)
    }

    /// The eigen-decomposition of the full `A` of feature `h` with `dt` at rate 1.
    struct FeatureSystem {
        let mu: [Complex64], v: ComplexMatrix, vInverse: ComplexMatrix, dt: Double
        /// Bilinear `z_k` at `dt·rate`.
        func z(_ k: Int, rate: Double = 1) -> Complex64 {
            let q = mu[k] * (dt * rate * 0.5)
            return (Complex64.one + q) / (Complex64.one - q)
        }
        func zPower(_ k: Int, _ l: Int) -> Complex64 {
            let zk = z(k)
            return (zk.log * Double(l)).exp
        }
    }

    func stateSystem() -> [FeatureSystem?] {
        let n2 = modes, n = 2 * n2
        return (0..<features).map { h in
            var a = ComplexMatrix(rows: n, cols: n)
            for k in 0..<n2 {
                let j = h * n2 + k
                let lam = Complex64(-reparam.apply(Double(aReal.value.data[j])), -Double(aImag.value.data[j]))
                a[k, k] = lam; a[n2 + k, n2 + k] = lam.conjugate
            }
            for r in 0..<rank {
                let fp = fullVector(p.value, r, h)
                for i in 0..<n { for k in 0..<n { a[i, k] = a[i, k] - fp[i] * fp[k].conjugate } }
            }
            guard let (mu, v) = a.eigen(), let vi = v.solve(.identity(n)) else { return nil }
            return FeatureSystem(mu: mu, v: v, vInverse: vi, dt: Foundation.exp(Double(invDt.value.data[h])))
        }
    }

    public func kernel(length L: Int, rate: Float) -> Variable {
        let (h, n2, r, ch) = (features, modes, rank, channels)
        let ld = max(1, Int((Float(kernelLength) / rate).rounded(.toNearestOrEven)))
        precondition(L <= ld, "DPLR kernel of length \(L) requested beyond round(l_kernel / rate) = \(ld); the layer's l_max bounds it")
        let dt = exp(invDt) * rate                                                     // (H, 1)
        let lam = ComplexVariable(re: reparam.apply(aReal) * -1, im: aImag * -1)        // (H, N2)
        let w = lam * dt
        let bv = ComplexVariable(interleaved: b).reshaped([h, n2])
        let pv = ComplexVariable(interleaved: p)                                        // (R, H, N2)
        var cv = ComplexVariable(interleaved: c)                                        // (C, H, N2)
        if let bandlimit {
            let mask = (0..<(h * n2)).map { j -> Float in
                let f = Foundation.exp(invDt.value.data[j / n2]) * abs(aImag.value.data[j]) / (2 * Float.pi)
                return f < bandlimit * 0.5 ? 1 : 0
            }
            cv = cv * Variable.constant(Tensor(shape: [1, h, n2], data: mask))
        }
        let q = pv.conjugate
        let dtRow = dt.reshaped([1, h, 1])
        // v rows: [B·C̃ (C), B·Q (R), P_r·C̃_c (R·C), P_r·Q_s (R·R)], each times dt.
        var rows: [ComplexVariable] = []
        rows.append(cv * bv.reshaped([1, h, n2]))
        rows.append(q * bv.reshaped([1, h, n2]))
        for ri in 0..<r {
            let pr = ComplexVariable(re: pv.re.slice(axis: 0, ri..<(ri + 1)), im: pv.im.slice(axis: 0, ri..<(ri + 1)))
            rows.append(cv * pr)
            rows.append(q * pr)
        }
        let stacked = ComplexVariable(re: concat(rows.map(\.re), axis: 0), im: concat(rows.map(\.im), axis: 0)) * dtRow
        let rho = cauchyNodes(stacked, poles: w, length: ld)                           // (M, H, J)
        let J = ld / 2 + 1
        let nodes = CauchyNodes(length: ld)
        let half = ComplexVariable(re: Variable.constant(Tensor(shape: [1, 1, J], data: nodes.half.map { Float($0.re) })),
                                   im: Variable.constant(Tensor(shape: [1, 1, J], data: nodes.half.map { Float($0.im) })))
        func row(_ i: Int, _ count: Int = 1) -> ComplexVariable {
            ComplexVariable(re: rho.re.slice(axis: 0, i..<(i + count)), im: rho.im.slice(axis: 0, i..<(i + count)))
        }
        // Offsets: r00 = 0..<C, r01 = C..<C+R, then per r: r10_r (C rows), r11_r (R rows).
        let r00 = row(0, ch)
        func r01(_ s: Int) -> ComplexVariable { row(ch + s) }
        func r10(_ ri: Int) -> ComplexVariable { row(ch + r + ri * (ch + r), ch) }
        func r11(_ ri: Int, _ s: Int) -> ComplexVariable { row(ch + r + ri * (ch + r) + ch + s) }
        let khat: ComplexVariable
        if r == 1 {
            khat = r00 - half * r01(0) * r10(0) / (half * r11(0, 0) + 1)
        } else {
            // (I + h·ρ11)⁻¹ for 2×2: [[d, −b], [−c, a]] / (a·d − b·c).
            let a = half * r11(0, 0) + 1, bb = half * r11(0, 1), cc = half * r11(1, 0), d = half * r11(1, 1) + 1
            let det = a * d - bb * cc
            let x0 = r10(0), x1 = r10(1)
            let y0 = (d * x0 - bb * x1) / det, y1 = (a * x1 - cc * x0) / det
            khat = r00 - half * (r01(0) * y0 + r01(1) * y1)
        }
        let k = irfft(khat, length: ld)                                                // (C, H, L')
        return L == ld ? k : k.slice(axis: 2, 0..<L)
    }

    /// The diagonalised bilinear recurrence at `dt × rate` (see the type's documentation).
    public func recurrence(rate: Float) -> (any KernelRecurrence)? {
        let n2 = modes, n = 2 * n2, h = features, lk = kernelLength
        let system = stateSystem()
        var dA = Tensor.zeros([h, n, 2]), dB = Tensor.zeros([h, n, 2]), dC = Tensor.zeros([channels, h, n, 2])
        for hi in 0..<h {
            guard let s = system[hi] else { return nil }
            let fb = fullVector(b.value, 0, hi)
            let vib = (0..<n).map { k in (0..<n).reduce(Complex64(0)) { $0 + s.vInverse[k, $1] * fb[$1] } }
            var mask = [Double](repeating: 1, count: n)
            if let bandlimit {
                for k in 0..<n2 {
                    let f = Foundation.exp(invDt.value.data[hi]) * abs(aImag.value.data[hi * n2 + k]) / (2 * Float.pi)
                    if !(f < bandlimit * 0.5) { mask[k] = 0; mask[n2 + k] = 0 }
                }
            }
            for k in 0..<n {
                let q = s.mu[k] * (s.dt * Double(rate) * 0.5)
                let z = (Complex64.one + q) / (Complex64.one - q)
                let bk = vib[k] * (Complex64(s.dt * Double(rate)) / (Complex64.one - q))
                let i = hi * n + k
                dA.data[2 * i] = Float(z.re); dA.data[2 * i + 1] = Float(z.im)
                dB.data[2 * i] = Float(bk.re); dB.data[2 * i + 1] = Float(bk.im)
            }
            for ci in 0..<channels {
                var fc = fullVector(c.value, ci, hi)
                for k in 0..<n { fc[k] = fc[k] * mask[k] }
                for k in 0..<n {
                    let vt = (0..<n).reduce(Complex64(0)) { $0 + s.v[$1, k] * fc[$1] }
                    let w = lk > 0 ? vt / (Complex64.one - s.zPower(k, lk)) : vt
                    let j = (ci * h + hi) * n + k
                    dC.data[2 * j] = Float(w.re / 2); dC.data[2 * j + 1] = Float(w.im / 2)
                }
            }
        }
        return DiagonalSystem(dA: dA, dB: dB, dC: dC)
    }

    public static let entry = KernelEntry(
        name: "dplr", summary: "the original S4: diagonal plus low-rank HiPPO A, bilinear, Cauchy + Woodbury kernel",
        initializations: ["legs", "fout", "legt"], discretizations: ["bilinear"], hasStepMode: true, continuousTime: true,
        rateNote: "dt × rate, evaluated on round(l_kernel / rate) roots of unity", supportsReparameterization: true,
        supportsBandlimit: true
    ) { o, shape, rng in
        guard let l = shape.maxLength else {
            throw KernelOptionsError.invalid(field: "l_max", value: "null", reason: "dplr needs the layer's training length (l_kernel)")
        }
        let measure = HiPPO.Measure(rawValue: try o.resolvedInitialization()) ?? .legs
        return DPLRKernel(features: shape.features, channels: shape.channels, stateSize: o.stateSize, measure: measure,
                          length: l, dtMin: o.dtMin, dtMax: o.dtMax, bandlimit: o.bandlimit,
                          reparam: o.resolvedReparameterization, rng: &rng)
    }
}
