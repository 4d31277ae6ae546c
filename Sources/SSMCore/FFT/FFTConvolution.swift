/// FFT convolution of a batch of N-D signals with separable (per-axis) kernels, the shared engine
/// of FFTConv (1-D) and S4ND (2-D, 3-D).
///
/// For `u` of shape `(B, H, L1, …, Ln)` and one kernel per axis, `k_i` of shape `(C, H, P_i)` (or
/// `(H, P_i)`, meaning `C = 1`) with `P_i ≥ L_i`:
///
///     y[b, c·H + h] = slice_{[0, L_i) on each axis}( irfftn( rfftn(u[b, h] zero-padded to P)
///                                                            · Π_i fft_i(k_i[c, h]) ) )
///
/// i.e. the circular convolution, over the padded box `P = (P1, …, Pn)`, of `u[b, h]` with the
/// outer-product kernel `k[c, h, p1, …, pn] = Π_i k_i[c, h, p_i]`, cut back to the input box.
/// How a kernel is laid out in its padded length decides causal vs bidirectional: see
/// ``layoutKernel(_:inputLength:bidirectional:)``. Output: `(B, C·H, L1, …, Ln)` (channel-major,
/// as the official `rearrange('b c h ... -> b (c h) ...')`).
///
/// Backward (exact, no stored spectra): with `g` the output gradient zero-padded to `P`,
/// `∂u = slice(irfftn(Σ_c G_c · conj(K_c)))`, and the full kernel gradient
/// `∂k[c, h] = irfftn(Σ_b G · conj(U))` (circular cross-correlations), contracted onto each axis:
/// `∂k_i[c, h, p_i] = Σ_{p_j, j≠i} ∂k[c, h, p] · Π_{j≠i} k_j[c, h, p_j]`.
///
/// Planes `(b, h)` run in parallel on cached FFTW plans; every buffer is allocated once per worker.
public func fftConvolution(_ u: Variable, kernels: [Variable]) -> Variable {
    let geo = FFTConvolutionGeometry(input: u.shape, kernels: kernels.map { $0.shape })
    let kernelValues = kernels.map { $0.value }
    let spectrum = geo.kernelSpectrum(kernelValues) // (C, H, F) complex
    let y = geo.forward(u.value, spectrum: spectrum)
    return Variable(y, parents: [u] + kernels) { g in
        let needU = u.requiresGrad, needK = kernels.contains { $0.requiresGrad }
        let (gu, gk) = geo.backward(g, input: u.value, kernels: kernelValues, spectrum: spectrum,
                                    needInput: needU, needKernels: needK)
        var result: [Tensor?] = [gu]
        for i in 0..<kernels.count {
            result.append(gk.map { $0[i].reshaped(kernels[i].shape) })
        }
        return result
    }
}

/// Lays a length-`Lk` kernel out in the padded length `P = Lk + L` used by
/// ``fftConvolution(_:kernels:)`` for an input of length `L`.
///
/// - causal (`k`: `(C, H, Lk)`): `out[c, h] = k[c, h]` followed by `L` zeros, so
///   `y[l] = Σ_{j ≤ l} k[j] u[l - j]`.
/// - bidirectional (`k`: `(2C, H, Lk)`, forward kernels first, as `'(s c) h l -> s c h l'`):
///   `out[c, h] = pad(k0, right by L) + pad(flip(k1), left by L)` with `k0 = k[c]`, `k1 = k[C + c]`,
///   the official layout. With `u` zero-padded to `P` nothing wraps around, and
///   `y[l] = Σ_j k0[j]·u[l − j] + Σ_m k1[m]·u[l + 1 + m]` (the official one-sample offset of the
///   backward half is kept).
///
/// Output `(C, H, Lk + L)`.
public func layoutKernel(_ k: Variable, inputLength L: Int, bidirectional: Bool) -> Variable {
    precondition(k.value.rank == 3, "layoutKernel expects (C, H, Lk), got \(k.shape)")
    let (cIn, h, lk) = (k.shape[0], k.shape[1], k.shape[2])
    precondition(L >= 0 && lk > 0, "layoutKernel: invalid lengths Lk=\(lk) L=\(L)")
    precondition(!bidirectional || cIn % 2 == 0, "bidirectional kernel needs an even channel count, got \(cIn)")
    let c = bidirectional ? cIn / 2 : cIn
    let p = lk + L
    var out = Tensor.zeros([c, h, p])
    let kv = k.value
    for ci in 0..<c {
        for hi in 0..<h {
            let o = (ci * h + hi) * p, f = (ci * h + hi) * lk
            for j in 0..<lk { out.data[o + j] = kv.data[f + j] }
            if bidirectional {
                let b = ((c + ci) * h + hi) * lk
                // pad(flip(k1), left by L): position L + j holds k1[Lk - 1 - j].
                for j in 0..<lk { out.data[o + L + j] += kv.data[b + lk - 1 - j] }
            }
        }
    }
    return Variable(out, parents: [k]) { g in
        var gk = Tensor.zeros([cIn, h, lk])
        for ci in 0..<c {
            for hi in 0..<h {
                let o = (ci * h + hi) * p, f = (ci * h + hi) * lk
                for j in 0..<lk { gk.data[f + j] = g.data[o + j] }
                if bidirectional {
                    let b = ((c + ci) * h + hi) * lk
                    for j in 0..<lk { gk.data[b + lk - 1 - j] = g.data[o + L + j] }
                }
            }
        }
        return [gk]
    }
}

/// Shapes and FFT plans of one FFT convolution.
struct FFTConvolutionGeometry {
    let batch: Int, features: Int, channels: Int
    /// Input box `(L1…Ln)` and padded box `(P1…Pn)`.
    let length: [Int], padded: [Int]
    /// Half-spectrum shape `(P1, …, P(n-1), Pn/2+1)` and its element count.
    let spectral: [Int]
    let fCount: Int, lCount: Int, pCount: Int
    let forwardPlan: FFTPlan, inversePlan: FFTPlan

    init(input: [Int], kernels: [[Int]]) {
        precondition(input.count >= 3, "fftConvolution input must be (B, H, L1…Ln), got \(input)")
        let n = input.count - 2
        precondition(kernels.count == n, "fftConvolution: \(n) spatial axes need \(n) kernels, got \(kernels.count)")
        batch = input[0]; features = input[1]
        length = Array(input.suffix(n))
        var c = -1
        var p: [Int] = []
        for (i, s) in kernels.enumerated() {
            precondition(s.count == 2 || s.count == 3, "kernel \(i) must be (C, H, P) or (H, P), got \(s)")
            let ci = s.count == 3 ? s[0] : 1
            precondition(c == -1 || ci == c, "kernels have different channel counts")
            c = ci
            precondition(s[s.count - 2] == features, "kernel \(i) has \(s[s.count - 2]) features, input has \(features)")
            precondition(s.last! >= length[i], "kernel \(i) padded length \(s.last!) < input length \(length[i])")
            p.append(s.last!)
        }
        channels = c
        padded = p
        var sp = p
        sp[n - 1] = p[n - 1] / 2 + 1
        spectral = sp
        fCount = sp.reduce(1, *)
        lCount = length.reduce(1, *)
        pCount = p.reduce(1, *)
        forwardPlan = FFTPlan.cached(shape: p, direction: .forward)
        inversePlan = FFTPlan.cached(shape: p, direction: .inverse)
    }

    /// `K[c, h, f] = Π_i fft_i(k_i[c, h])[f_i]` over the half-spectrum box: `(C, H, F)` complex.
    func kernelSpectrum(_ kernels: [Tensor]) -> FFTBuffer {
        let n = padded.count, f = fCount, h = features
        let out = FFTBuffer(count: 2 * channels * h * f)
        let base = out.pointer
        let plans = padded.map { FFTPlan.cached(shape: [$0], direction: .forward) }
        let kptrs = kernels.map { $0.data }
        parallelRanges(channels * h) { range in
            // Per-axis spectra, full length on all but the last axis.
            let real = FFTBuffer(count: padded.max()!)
            let half = FFTBuffer(count: 2 * (padded.max()! / 2 + 1))
            var axis = [[Float]](repeating: [], count: n)
            for row in range {
                for i in 0..<n {
                    let pi = padded[i]
                    kptrs[i].withUnsafeBufferPointer { k in
                        real.pointer.update(from: k.baseAddress! + row * pi, count: pi)
                    }
                    plans[i].forward(real.pointer, half.pointer)
                    let bins = i == n - 1 ? pi / 2 + 1 : pi
                    if axis[i].count != 2 * bins { axis[i] = [Float](repeating: 0, count: 2 * bins) }
                    for q in 0..<(pi / 2 + 1) { axis[i][2 * q] = half.pointer[2 * q]; axis[i][2 * q + 1] = half.pointer[2 * q + 1] }
                    if i < n - 1 {
                        // Hermitian symmetry of a real signal: X[P - q] = conj(X[q]).
                        for q in (pi / 2 + 1)..<pi {
                            axis[i][2 * q] = half.pointer[2 * (pi - q)]
                            axis[i][2 * q + 1] = -half.pointer[2 * (pi - q) + 1]
                        }
                    }
                }
                let dst = base + row * 2 * f
                outerProduct(axis, into: dst)
            }
        }
        return out
    }

    /// Writes `Π_i a_i[f_i]` (complex, interleaved) for every multi-index of `spectral`.
    private func outerProduct(_ a: [[Float]], into dst: UnsafeMutablePointer<Float>) {
        let n = spectral.count, last = spectral[n - 1]
        var idx = [Int](repeating: 0, count: max(n - 1, 0))
        var row = 0
        while true {
            var pr: Float = 1, pi: Float = 0
            for k in 0..<(n - 1) {
                let re = a[k][2 * idx[k]], im = a[k][2 * idx[k] + 1]
                (pr, pi) = (pr * re - pi * im, pr * im + pi * re)
            }
            let d = dst + 2 * row * last
            a[n - 1].withUnsafeBufferPointer { l in
                for q in 0..<last {
                    let re = l[2 * q], im = l[2 * q + 1]
                    d[2 * q] = pr * re - pi * im
                    d[2 * q + 1] = pr * im + pi * re
                }
            }
            row += 1
            var k = n - 2
            while k >= 0 {
                idx[k] += 1
                if idx[k] < spectral[k] { break }
                idx[k] = 0
                k -= 1
            }
            if k < 0 { return }
        }
    }

    func forward(_ u: Tensor, spectrum: FFTBuffer) -> Tensor {
        let (bsz, h, c, f, l, p) = (batch, features, channels, fCount, lCount, pCount)
        var y = Tensor.zeros([bsz, c * h] + length)
        let scale = 1 / Float(p)
        let K = spectrum.pointer
        u.data.withUnsafeBufferPointer { ub in
            y.data.withUnsafeMutableBufferPointer { yb in
                let up = ub.baseAddress!, yp = yb.baseAddress!
                parallelRanges(bsz * h) { range in
                    let real = FFTBuffer(count: p)
                    let U = FFTBuffer(count: 2 * f), Y = FFTBuffer(count: 2 * f)
                    for plane in range {
                        let b = plane / h, hi = plane % h
                        real.zero()
                        copyBox(from: up + plane * l, shape: length, to: real.pointer, shape: padded)
                        forwardPlan.forward(real.pointer, U.pointer) // (F) complex
                        for ci in 0..<c {
                            complexMultiply(U.pointer, K + 2 * (ci * h + hi) * f, into: Y.pointer, count: f)
                            inversePlan.inverse(Y.pointer, real.pointer)
                            copyBox(from: real.pointer, shape: padded,
                                    to: yp + ((b * c + ci) * h + hi) * l, shape: length, scale: scale)
                        }
                    }
                }
            }
        }
        return y
    }

    /// Gradients for the input `(B, H, L…)` and each axis kernel (flat `(C, H, P_i)`).
    func backward(_ g: Tensor, input u: Tensor, kernels: [Tensor], spectrum: FFTBuffer,
                  needInput: Bool, needKernels: Bool) -> (Tensor?, [Tensor]?) {
        let (bsz, h, c, f, l, p) = (batch, features, channels, fCount, lCount, pCount)
        let n = padded.count
        let scale = 1 / Float(p)
        var gu = [Float](repeating: 0, count: needInput ? u.count : 0)
        // All axis-kernel gradients in one buffer: axis i at offsets[i], shape (C, H, P_i).
        var offsets = [0]
        for pi in padded { offsets.append(offsets.last! + c * h * pi) }
        var gk = [Float](repeating: 0, count: needKernels ? offsets[n] : 0)
        // The axis kernels, flattened the same way (read by the N-D contraction).
        var kFlat = [Float]()
        if needKernels && n > 1 { for k in kernels { kFlat += k.data } }
        let K = spectrum.pointer
        u.data.withUnsafeBufferPointer { ub in
        g.data.withUnsafeBufferPointer { gb in
        gu.withUnsafeMutableBufferPointer { gub in
        gk.withUnsafeMutableBufferPointer { gkb in
        kFlat.withUnsafeBufferPointer { kfb in
            let up = ub.baseAddress!, gp = gb.baseAddress!, gup = gub.baseAddress, gkp = gkb.baseAddress
            let kp = kfb.baseAddress
            parallelRanges(h) { range in
                let real = FFTBuffer(count: p)
                let U = FFTBuffer(count: 2 * f), G = FFTBuffer(count: 2 * f), GU = FFTBuffer(count: 2 * f)
                let DK = needKernels ? FFTBuffer(count: 2 * c * f) : nil
                var prefix = [Float](repeating: 0, count: n + 1), suffix = [Float](repeating: 0, count: n + 1)
                var idx = [Int](repeating: 0, count: n)
                for hi in range {
                    DK?.zero()
                    for b in 0..<bsz {
                        if needKernels {
                            real.zero()
                            copyBox(from: up + (b * h + hi) * l, shape: length, to: real.pointer, shape: padded)
                            forwardPlan.forward(real.pointer, U.pointer) // U = rfftn(u[b, h])
                        }
                        if needInput { GU.zero() }
                        for ci in 0..<c {
                            real.zero()
                            copyBox(from: gp + ((b * c + ci) * h + hi) * l, shape: length, to: real.pointer, shape: padded)
                            forwardPlan.forward(real.pointer, G.pointer) // G = rfftn(g[b, c·H + h])
                            if needInput {
                                complexMultiplyConjugateAccumulate(G.pointer, K + 2 * (ci * h + hi) * f, into: GU.pointer, count: f)
                            }
                            if let DK {
                                complexMultiplyConjugateAccumulate(G.pointer, U.pointer, into: DK.pointer + 2 * ci * f, count: f)
                            }
                        }
                        if needInput {
                            inversePlan.inverse(GU.pointer, real.pointer)
                            copyBox(from: real.pointer, shape: padded, to: gup! + (b * h + hi) * l, shape: length, scale: scale)
                        }
                    }
                    guard let DK, let gkp else { continue }
                    for ci in 0..<c {
                        inversePlan.inverse(DK.pointer + 2 * ci * f, real.pointer) // (P…) full kernel gradient · ΠP
                        let row = ci * h + hi
                        if n == 1 {
                            let dst = gkp + row * p
                            for q in 0..<p { dst[q] = real.pointer[q] * scale }
                            continue
                        }
                        // Contract the N-D kernel gradient onto each axis kernel.
                        let kp = kp!
                        for i in 0..<n { idx[i] = 0 }
                        for q in 0..<p {
                            let v = real.pointer[q] * scale
                            prefix[0] = 1
                            for i in 0..<n { prefix[i + 1] = prefix[i] * kp[offsets[i] + row * padded[i] + idx[i]] }
                            suffix[n] = 1
                            for i in stride(from: n - 1, through: 0, by: -1) {
                                suffix[i] = suffix[i + 1] * kp[offsets[i] + row * padded[i] + idx[i]]
                            }
                            for i in 0..<n { gkp[offsets[i] + row * padded[i] + idx[i]] += v * prefix[i] * suffix[i + 1] }
                            var k = n - 1
                            while k >= 0 {
                                idx[k] += 1
                                if idx[k] < padded[k] { break }
                                idx[k] = 0
                                k -= 1
                            }
                        }
                    }
                }
            }
        }}}}}
        let gradU = needInput ? Tensor(shape: u.shape, data: gu) : nil
        let gradK = needKernels
            ? (0..<n).map { Tensor(shape: [c, h, padded[$0]], data: Array(gk[offsets[$0]..<offsets[$0 + 1]])) }
            : nil
        return (gradU, gradK)
    }
}

/// `out[f] = a[f] · b[f]` for interleaved complex arrays.
@inline(__always)
func complexMultiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    for q in 0..<count {
        let ar = a[2 * q], ai = a[2 * q + 1], br = b[2 * q], bi = b[2 * q + 1]
        out[2 * q] = ar * br - ai * bi
        out[2 * q + 1] = ar * bi + ai * br
    }
}

/// `out[f] += a[f] · conj(b[f])` for interleaved complex arrays.
@inline(__always)
func complexMultiplyConjugateAccumulate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                        into out: UnsafeMutablePointer<Float>, count: Int) {
    for q in 0..<count {
        let ar = a[2 * q], ai = a[2 * q + 1], br = b[2 * q], bi = b[2 * q + 1]
        out[2 * q] += ar * br + ai * bi
        out[2 * q + 1] += ai * br - ar * bi
    }
}

