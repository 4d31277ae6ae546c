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
/// Step mode: the official O(N) bilinear step through the Woodbury identity
/// (``recurrence(rate:)``), with C recovered from C̃ at rate 1 as the official `_setup_C`.
///
/// Initialisation: HiPPO `legs`, `legt` (rank 2) or `fout` through ``HiPPO/nplr(_:_:)``, the same
/// `(Λ, P, B)` for every feature, `A_real = f⁻¹(max(−Re Λ, 1e−4))`, `log dt ~ U[log dt_min, log dt_max)`,
/// `C ~ CN(0, 1)` converted to C̃ for `l_kernel` = the layer's training length.
/// ``statistics()`` reports the eigenvalues of the full `A` (LAPACK `zgeev`).
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
        // C → C̃ for l_kernel: C̃ᵀ = Cᵀ(I − dA^L) (dense, in Double).
        for hi in 0..<h {
            let power = denseTransition(hi, rate: 1).power(length)
            for ci in 0..<ch {
                let fc = fullVector(c.value, ci, hi)
                for k in 0..<n2 {
                    // (Cᵀ(I − P))_k = C_k − Σ_i C_i P_ik
                    var v = fc[k]
                    for i in 0..<(2 * n2) { v = v - fc[i] * power[i, k] }
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

    /// The full `A = diag(f(Λ)) − Σ_r f(P_r) f(P_r)ᴴ` of feature `h` (`N × N`, Double).
    func fullA(_ h: Int) -> ComplexMatrix {
        let n2 = modes, n = 2 * n2
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
        return a
    }

    /// The bilinear `dA = (I − dt/2·A)⁻¹(I + dt/2·A)` of feature `h` at `dt × rate` (dense, Double).
    func denseTransition(_ h: Int, rate: Double) -> ComplexMatrix {
        let n = 2 * modes
        let a = fullA(h)
        let half = Foundation.exp(Double(invDt.value.data[h])) * rate / 2
        var left = ComplexMatrix.identity(n), right = ComplexMatrix.identity(n)
        for i in 0..<(n * n) { left.data[i] = left.data[i] - a.data[i] * half; right.data[i] = right.data[i] + a.data[i] * half }
        return left.solve(right) ?? ComplexMatrix.identity(n)
    }

    /// The official O(N) bilinear step (`_setup_linear` / `_step_state_linear`) at `dt × rate`:
    /// with `D = 1/(2/dt − Λ)`, `E = 2/dt + Λ` and `R = (I + 2·Re(Qᴴ D P))⁻¹ Q D` (Woodbury),
    ///
    ///     x  = E ⊙ s − Σ_r P_r · 2Re(Q_rᵀ s) + 2B·u
    ///     s′ = D ⊙ (x − Σ_r P_r · 2Re(R_rᵀ x)),       y = 2·Re(C_fullᵀ s′)
    ///
    /// on the half state `s` (conjugate pairs), where `C_full = (I − dA^{l_kernel})⁻ᵀ f(C̃)` recovers
    /// C from C̃ at rate 1 (dense, in Double) — no eigenvectors, so it stays exact for the strongly
    /// non-normal HiPPO matrices.
    public func recurrence(rate: Float) -> (any KernelRecurrence)? {
        let n2 = modes, h = features, lk = kernelLength
        var sys = DPLRLinearRecurrence(features: h, channels: channels, modes: n2, rank: rank)
        for hi in 0..<h {
            let dt = Foundation.exp(Double(invDt.value.data[hi])) * Double(rate)
            var d = [Complex64](), e = [Complex64]()
            for k in 0..<n2 {
                let j = hi * n2 + k
                let lam = Complex64(-reparam.apply(Double(aReal.value.data[j])), -Double(aImag.value.data[j]))
                d.append(Complex64.one / (Complex64(2 / dt) - lam)); e.append(Complex64(2 / dt) + lam)
            }
            let pv = (0..<rank).map { Array(fullVector(p.value, $0, hi).prefix(n2)) }
            let qv = pv.map { $0.map(\.conjugate) }
            // M[r][s] = δ + 2·Re Σ_n Q_rn D_n P_sn ; R = M⁻¹ (Q ⊙ D).
            var m = ComplexMatrix.identity(rank)
            for r in 0..<rank { for t in 0..<rank {
                var acc = Complex64(0)
                for k in 0..<n2 { acc += qv[r][k] * d[k] * pv[t][k] }
                m[r, t] = m[r, t] + Complex64(2 * acc.re)
            }}
            var qd = ComplexMatrix(rows: rank, cols: n2)
            for r in 0..<rank { for k in 0..<n2 { qd[r, k] = qv[r][k] * d[k] } }
            let rm = m.solve(qd) ?? qd
            let fb = fullVector(b.value, 0, hi)
            // C_full from C̃ at rate 1: solve (I − dA^L)ᵀ x = f(C̃).
            var cRows: [[Complex64]] = []
            let power = lk > 0 ? denseTransition(hi, rate: 1).power(lk) : nil
            for ci in 0..<channels {
                var fc = fullVector(c.value, ci, hi)
                if let bandlimit {
                    let f0 = Foundation.exp(invDt.value.data[hi]) / (2 * Float.pi)
                    for k in 0..<n2 where !(f0 * abs(aImag.value.data[hi * n2 + k]) < bandlimit * 0.5) {
                        fc[k] = Complex64(0); fc[n2 + k] = Complex64(0)
                    }
                }
                if let power {
                    var lhs = ComplexMatrix.identity(2 * n2)
                    for i in 0..<(2 * n2) { for k in 0..<(2 * n2) { lhs[i, k] = lhs[i, k] - power[k, i] } }   // (I − P)ᵀ
                    fc = lhs.solve(ComplexMatrix(rows: 2 * n2, cols: 1, data: fc))?.data ?? fc
                }
                cRows.append(Array(fc.prefix(n2)))
            }
            sys.set(feature: hi, d: d, e: e, p: pv, q: qv, r: (0..<rank).map { r in (0..<n2).map { rm[r, $0] } },
                    b: Array(fb.prefix(n2)), c: cRows)
        }
        return sys
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

extension ComplexMatrix {
    /// `self^k` by repeated squaring (`k ≥ 0`).
    func power(_ k: Int) -> ComplexMatrix {
        var result = ComplexMatrix.identity(rows), base = self, e = k
        while e > 0 {
            if e & 1 == 1 { result = result * base }
            base = base * base
            e >>= 1
        }
        return result
    }
}

/// The DPLR kernel's O(N·rank) step (see ``DPLRKernel/recurrence(rate:)``), per feature:
/// half complex state `s` `(N/2)`, stored per sequence as `(H, N/2, 2)` interleaved.
struct DPLRLinearRecurrence: KernelRecurrence {
    let features: Int, channels: Int, modes: Int, rank: Int
    /// Per feature, in `Double`: D, E, B `(N/2)`, P, Q, R `(rank, N/2)`, C `(channels, N/2)`.
    var d: [[Complex64]], e: [[Complex64]], b: [[Complex64]]
    var p: [[[Complex64]]], q: [[[Complex64]]], r: [[[Complex64]]], c: [[[Complex64]]]

    init(features: Int, channels: Int, modes: Int, rank: Int) {
        self.features = features; self.channels = channels; self.modes = modes; self.rank = rank
        d = Array(repeating: [], count: features); e = d; b = d
        p = Array(repeating: [], count: features); q = p; r = p; c = p
    }

    mutating func set(feature h: Int, d: [Complex64], e: [Complex64], p: [[Complex64]], q: [[Complex64]], r: [[Complex64]],
                      b: [Complex64], c: [[Complex64]]) {
        self.d[h] = d; self.e[h] = e; self.p[h] = p; self.q[h] = q; self.r[h] = r; self.b[h] = b; self.c[h] = c
    }

    var stateCount: Int { features * modes * 2 }

    func step(_ u: UnsafePointer<Float>, batch: Int, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let n2 = modes
        withUnsafeTemporaryAllocation(of: Complex64.self, capacity: n2) { x in
            for bi in 0..<batch {
                for h in 0..<features {
                    let s = state + (bi * features + h) * n2 * 2
                    let uh = Double(u[bi * features + h])
                    // x = E ⊙ s − Σ_r P_r · 2Re(Q_rᵀ s) + 2B·u
                    for k in 0..<n2 { x[k] = e[h][k] * Complex64(Double(s[2 * k]), Double(s[2 * k + 1])) + b[h][k] * (2 * uh) }
                    for rr in 0..<rank {
                        var acc = 0.0
                        for k in 0..<n2 {
                            let sk = Complex64(Double(s[2 * k]), Double(s[2 * k + 1]))
                            acc += (q[h][rr][k] * sk).re
                        }
                        for k in 0..<n2 { x[k] = x[k] - p[h][rr][k] * (2 * acc) }
                    }
                    // s′ = D ⊙ (x − Σ_r P_r · 2Re(R_rᵀ x))
                    // rank ≤ 2 (LegT): two scalars, no allocation per step.
                    var corr0 = 0.0, corr1 = 0.0
                    for k in 0..<n2 {
                        corr0 += (r[h][0][k] * x[k]).re
                        if rank > 1 { corr1 += (r[h][1][k] * x[k]).re }
                    }
                    for k in 0..<n2 {
                        var v = x[k] - p[h][0][k] * (2 * corr0)
                        if rank > 1 { v = v - p[h][1][k] * (2 * corr1) }
                        v = d[h][k] * v
                        s[2 * k] = Float(v.re); s[2 * k + 1] = Float(v.im)
                        x[k] = v
                    }
                    for ci in 0..<channels {
                        var acc = 0.0
                        for k in 0..<n2 { acc += (c[h][ci][k] * x[k]).re }
                        y[(bi * channels + ci) * features + h] = Float(2 * acc)
                    }
                }
            }
        }
    }
}
