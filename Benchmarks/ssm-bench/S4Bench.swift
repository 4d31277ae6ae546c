// Suite "s4": S4D kernel generation and FFT convolution, forward and backward, at the issue's
// sizes (H = 256, L = 16,384, batch 8), plus the S4ND image shape of the FFT convolution.
// One JSON object per line.
import Foundation
import SSMCore

/// Seconds per call: warm-up, then the median and best of `rounds` single calls.
private func s4Time(rounds: Int = 5, _ body: () -> Void) -> (median: Double, best: Double) {
    body()
    var times: [Double] = []
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    times.sort()
    return (times[times.count / 2], times[0])
}


private func s4Random(_ shape: [Int], _ rng: inout SeededRNG) -> Tensor {
    Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.normal() })
}

/// `SSM_BENCH_S4_OPS` (comma-separated op names, e.g. `fft_conv_1d`) restricts the suite.
private func s4Wants(_ op: String) -> Bool {
    guard let only = ProcessInfo.processInfo.environment["SSM_BENCH_S4_OPS"], !only.isEmpty else { return true }
    return only.split(separator: ",").contains { $0 == op }
}

func s4Suite() throws {
    var rng = SeededRNG(seed: 4)
    let (h, n, l, batch) = (256, 64, 16_384, 8)

    // S4D kernel generation: (1, H, L) from inv_dt, A_real, A_imag, B, C with d_state 64.
    for disc in [Discretization.zoh, .bilinear] where s4Wants("s4d_kernel") {
        let kernel = S4DKernel(S4DKernelConfiguration(features: h, stateSize: n, discretization: disc), rng: &rng)
        let fwd = s4Time { _ = Autograd.withoutGradients { kernel.kernel(length: l) } }
        let k = kernel.kernel(length: l)
        let seed = s4Random(k.shape, &rng)
        let bwd = s4Time {
            for p in kernel.parameters { p.zeroGrad() }
            k.backward(seed)
        }
        for (pass, t) in [("forward", fwd), ("backward", bwd)] {
            emitJSON([("suite", "s4"), ("op", "s4d_kernel"), ("pass", pass), ("disc", disc.rawValue), ("H", h),
                    ("d_state", n), ("L", l), ("ms", t.median * 1e3), ("best_ms", t.best * 1e3),
                    ("kernel_values_per_s", Double(h * l) / t.median)])
        }
    }

    // Raw FFTW cost of one padded plane (the floor of the convolution): r2c then c2r of 32,768 points.
    if s4Wants("fftw_r2c_c2r_pair") {
        let p = 2 * l
        let fwd = FFTPlan.cached(shape: [p], direction: .forward), inv = FFTPlan.cached(shape: [p], direction: .inverse)
        let real = FFTBuffer(count: p), back = FFTBuffer(count: p), spec = FFTBuffer(count: 2 * (p / 2 + 1))
        for i in 0..<p { real.pointer[i] = rng.normal() }
        let reps = 200
        let t = s4Time {
            for _ in 0..<reps { fwd.forward(real.pointer, spec.pointer); inv.inverse(spec.pointer, back.pointer) }
        }
        emitJSON([("suite", "s4"), ("op", "fftw_r2c_c2r_pair"), ("points", p), ("threads", 1),
                ("us", t.median / Double(reps) * 1e6), ("best_us", t.best / Double(reps) * 1e6)])
    }

    // FFT convolution: u (8, 256, 16384) with a causal kernel laid out to 2L.
    if s4Wants("fft_conv_1d") {
        let u = Variable(s4Random([batch, h, l], &rng), requiresGrad: true)
        let kRaw = s4Random([1, h, l], &rng)
        let k = Variable(layoutKernel(Variable(kRaw), inputLength: l, bidirectional: false).value, requiresGrad: true)
        let fwd = s4Time(rounds: 3) { _ = Autograd.withoutGradients { fftConvolution(u, kernels: [k]) } }
        let y = fftConvolution(u, kernels: [k])
        let seed = s4Random(y.shape, &rng)
        let bwd = s4Time(rounds: 3) {
            u.zeroGrad(); k.zeroGrad()
            y.backward(seed)
        }
        for (pass, t) in [("forward", fwd), ("backward", bwd)] {
            emitJSON([("suite", "s4"), ("op", "fft_conv_1d"), ("pass", pass), ("B", batch), ("H", h), ("L", l),
                    ("padded", 2 * l), ("ms", t.median * 1e3), ("best_ms", t.best * 1e3),
                    ("samples_per_s", Double(batch * h * l) / t.median)])
        }
    }

    // FFT convolution at the S4ND image shape: (32, 64, 28, 28), bidirectional kernels padded to 56×56.
    if s4Wants("fft_conv_2d") {
        let (b2, h2, side) = (32, 64, 28)
        let u = Variable(s4Random([b2, h2, side, side], &rng), requiresGrad: true)
        let ks = (0..<2).map { _ in
            Variable(layoutKernel(Variable(s4Random([2, h2, side], &rng)), inputLength: side, bidirectional: true).value,
                     requiresGrad: true)
        }
        let fwd = s4Time { _ = Autograd.withoutGradients { fftConvolution(u, kernels: ks) } }
        let y = fftConvolution(u, kernels: ks)
        let seed = s4Random(y.shape, &rng)
        let bwd = s4Time {
            u.zeroGrad(); for k in ks { k.zeroGrad() }
            y.backward(seed)
        }
        for (pass, t) in [("forward", fwd), ("backward", bwd)] {
            emitJSON([("suite", "s4"), ("op", "fft_conv_2d"), ("pass", pass), ("B", b2), ("H", h2), ("L", "28x28"),
                    ("padded", "56x56"), ("ms", t.median * 1e3), ("best_ms", t.best * 1e3),
                    ("images_per_s", Double(b2) / t.median)])
        }
    }

    // S4Block recurrent step (generation): H = 64, d_state = 64, GELU + GLU output linear.
    for batch in [1, 16] where s4Wants("s4block_step") {
        let block = S4Block(kernel: S4DKernelConfiguration(features: 64, stateSize: 64), rng: &rng)
        let state = block.defaultState(batch: batch)
        let x = s4Random([batch, 64], &rng).data
        var y = [Float](repeating: 0, count: batch * 64)
        let steps = 2000
        let t = s4Time { x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { yb in
            for _ in 0..<steps { _ = block.step(xb.baseAddress!, into: yb.baseAddress!, state: state) }
        }}}
        emitJSON([("suite", "s4"), ("op", "s4block_step"), ("B", batch), ("H", 64), ("d_state", 64),
                ("us_per_step", t.median / Double(steps) * 1e6), ("samples_per_s", Double(batch * steps) / t.median)])
    }
}
