import Foundation

/// The DPLR kernel's Cauchy sums at the bilinear nodes, with each conjugate pair included
/// (the division-free form of the official `cauchy` evaluation):
///
///     ρ[m, h, j] = Σ_n 2·v[m, h, n] / (a_j − w[h, n]·b_j) + 2·conj(v[m, h, n]) / (a_j − conj(w[h, n])·b_j)
///
/// with `a_j = 2(1 − ω_j)`, `b_j = 1 + ω_j`, `ω_j = exp(−2πi·j/L)`, `j = 0 … ⌊L/2⌋`.
/// `v` `(M, H, N)`, `w` `(H, N)` complex planes → `(M, H, J)`.
///
/// Gradients (real-pair convention), from `G = ∂ρ`: both terms are holomorphic in `(v, w)` up to a
/// conjugation, so `∂v = Σ_j conj(2/(a − w b))·G + conj(2/(ā − w b̄)·G)` and
/// `∂w = Σ_j conj(2v·b/(a − w b)²)·G + conj(2v·b̄/(ā − w b̄)²·G)`.
public func cauchyNodes(_ v: ComplexVariable, poles w: ComplexVariable, length L: Int) -> ComplexVariable {
    precondition(v.shape.count == 3 && w.shape.count == 2 && Array(v.shape.dropFirst()) == w.shape,
                 "cauchyNodes: v must be (M, H, N) and w (H, N), got \(v.shape), \(w.shape)")
    let (M, H, N) = (v.shape[0], v.shape[1], v.shape[2])
    let J = L / 2 + 1
    let nodes = CauchyNodes(length: L)
    let vr = v.re.value.data, vi = v.im.value.data, wr = w.re.value.data, wi = w.im.value.data
    var outRe = Tensor.zeros([M, H, J]), outIm = Tensor.zeros([M, H, J])
    outRe.data.withUnsafeMutableBufferPointer { orb in outIm.data.withUnsafeMutableBufferPointer { oib in
        let orp = orb.baseAddress!, oip = oib.baseAddress!
        parallelRanges(H) { range in
            var r1 = [Complex64](repeating: Complex64(0), count: N), r2 = r1
            for h in range {
                for j in 0..<J {
                    let a = nodes.a[j], b = nodes.b[j]
                    // 1/(a − w b) and 1/(a − conj(w) b) per mode, shared by all m.
                    for n in 0..<N {
                        let wn = Complex64(Double(wr[h * N + n]), Double(wi[h * N + n]))
                        r1[n] = Complex64.one / (a - wn * b)
                        r2[n] = Complex64.one / (a - wn.conjugate * b)
                    }
                    for m in 0..<M {
                        var acc = Complex64(0)
                        for n in 0..<N {
                            let i = (m * H + h) * N + n
                            let vn = Complex64(Double(vr[i]), Double(vi[i]))
                            acc += vn * r1[n] + vn.conjugate * r2[n]
                        }
                        let o = (m * H + h) * J + j
                        orp[o] = Float(2 * acc.re); oip[o] = Float(2 * acc.im)
                    }
                }
            }
        }
    }}
    // One interleaved node (…, J, 2), split into planes.
    let inter = Tensor(shape: [M, H, J, 2], data: (0..<(M * H * J * 2)).map { $0 % 2 == 0 ? outRe.data[$0 / 2] : outIm.data[$0 / 2] })
    let node = Variable(inter, parents: [v.re, v.im, w.re, w.im]) { g in
        var gvr = Tensor.zeros([M, H, N]), gvi = Tensor.zeros([M, H, N]), gwr = Tensor.zeros([H, N]), gwi = Tensor.zeros([H, N])
        gvr.data.withUnsafeMutableBufferPointer { gvrb in gvi.data.withUnsafeMutableBufferPointer { gvib in
        gwr.data.withUnsafeMutableBufferPointer { gwrb in gwi.data.withUnsafeMutableBufferPointer { gwib in
            let gvrp = gvrb.baseAddress!, gvip = gvib.baseAddress!, gwrp = gwrb.baseAddress!, gwip = gwib.baseAddress!
            parallelRanges(H) { range in
                var gvAcc = [Complex64](repeating: Complex64(0), count: M)
                for h in range {
                    for n in 0..<N {
                        let wn = Complex64(Double(wr[h * N + n]), Double(wi[h * N + n]))
                        var gw = Complex64(0)
                        for m in 0..<M { gvAcc[m] = Complex64(0) }
                        for j in 0..<J {
                            let a = nodes.a[j], b = nodes.b[j]
                            let d1 = Complex64.one / (a - wn * b)                 // 1/(a − w b)
                            let d2 = Complex64.one / (a.conjugate - wn * b.conjugate)   // 1/(ā − w b̄)
                            for m in 0..<M {
                                let o = ((m * H + h) * J + j) * 2
                                let G = Complex64(Double(g.data[o]), Double(g.data[o + 1]))
                                let i = (m * H + h) * N + n
                                let vn = Complex64(Double(vr[i]), Double(vi[i]))
                                gvAcc[m] += (d1 * 2).conjugate * G + (d2 * 2 * G).conjugate
                                gw += (vn * b * d1 * d1 * 2).conjugate * G + (vn * b.conjugate * d2 * d2 * 2 * G).conjugate
                            }
                        }
                        for m in 0..<M {
                            let i = (m * H + h) * N + n
                            gvrp[i] = Float(gvAcc[m].re); gvip[i] = Float(gvAcc[m].im)
                        }
                        gwrp[h * N + n] = Float(gw.re); gwip[h * N + n] = Float(gw.im)
                    }
                }
            }
        }}}}
        return [gvr, gvi, gwr, gwi]
    }
    return ComplexVariable(interleaved: node)
}

/// `a_j = 2(1 − ω_j)`, `b_j = 1 + ω_j` for `ω_j = exp(−2πi·j/L)`, `j = 0 … ⌊L/2⌋` (in `Double`).
struct CauchyNodes {
    let a: [Complex64], b: [Complex64]
    /// `h_j = (1 + ω_j)/2`.
    let half: [Complex64]
    init(length L: Int) {
        let J = L / 2 + 1
        var a = [Complex64](), b = [Complex64](), half = [Complex64]()
        for j in 0..<J {
            let t = -2 * Double.pi * Double(j) / Double(L)
            let w = Complex64(Foundation.cos(t), Foundation.sin(t))
            a.append((Complex64.one - w) * 2); b.append(Complex64.one + w); half.append((Complex64.one + w) * 0.5)
        }
        self.a = a; self.b = b; self.half = half
    }
}

/// Inverse real FFT of a half spectrum along the last axis, `(…, ⌊L/2⌋+1)` complex planes →
/// `(…, L)` real, normalised by `1/L` (as `torch.fft.irfft(x, n=L)`; the imaginary parts of the
/// DC bin and, for even `L`, the Nyquist bin are ignored).
/// Gradient: `∂X_k = c_k/L · rfft(g)_k` with `c_k = 1` for the DC and Nyquist bins, else 2, and no
/// imaginary gradient where the imaginary part is ignored.
public func irfft(_ x: ComplexVariable, length L: Int) -> Variable {
    let shape = x.shape
    let J = L / 2 + 1
    precondition(shape.last == J, "irfft: last axis \(shape.last ?? 0) is not \(J) for length \(L)")
    let lead = Array(shape.dropLast())
    let rows = lead.reduce(1, *)
    let xr = x.re.value.data, xi = x.im.value.data
    var spec = Tensor.zeros(lead + [J, 2])
    for i in 0..<(rows * J) { spec.data[2 * i] = xr[i]; spec.data[2 * i + 1] = xi[i] }
    let y = FFT.irfftn(spec, size: [L])
    return Variable(y, parents: [x.re, x.im]) { g in
        let f = FFT.rfftn(g, size: [L])                                   // (…, J, 2)
        var gr = Tensor.zeros(shape), gi = Tensor.zeros(shape)
        let inv = 1 / Float(L)
        for r in 0..<rows { for k in 0..<J {
            let edge = k == 0 || (L % 2 == 0 && k == L / 2)
            let c: Float = edge ? inv : 2 * inv
            let i = r * J + k
            gr.data[i] = c * f.data[2 * i]
            gi.data[i] = edge ? 0 : c * f.data[2 * i + 1]
        }}
        return [gr, gi]
    }
}
