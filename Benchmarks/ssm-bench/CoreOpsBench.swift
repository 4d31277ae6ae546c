// Suite "core-ops": sgemm throughput (the roofline for the dense parts of every model) and the
// channel-first ops on the S4ND image hot path. One JSON object per line.
import Foundation
import SSMCore

/// Seconds per call of `body`: the best of 5 rounds, each averaging enough calls to last ≥ 0.1 s.
private func timePerCall(_ body: () -> Void) -> Double {
    body()  // warm-up (page faults, BLAS thread start)
    var best = Double.infinity
    for _ in 0..<5 {
        var calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            body(); calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < 0.1
        best = min(best, elapsed / Double(calls))
    }
    return best
}


func coreOpsSuite() throws {
    var rng = SeededRNG(seed: 1)
    let saved = BLAS.threads
    defer { BLAS.threads = saved }

    // sgemm C(m, n) = A(m, k) · B(k, n).
    let shapes: [(String, Int, Int, Int)] = [
        ("square256", 256, 256, 256), ("square512", 512, 512, 512), ("square1024", 1024, 1024, 1024),
        // linearChannels in a 28×28 image model: (Cout, Cin) × (Cin, 32·784), H = 64.
        ("linearChannels_64x25088x64", 64, 32 * 784, 64),
    ]
    for (name, m, n, k) in shapes {
        let a = Tensor.normal([m, k], rng: &rng), b = Tensor.normal([k, n], rng: &rng)
        var c = [Float](repeating: 0, count: m * n)
        for threads in [1, 2] {
            BLAS.threads = threads
            let t = a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                timePerCall {
                    BLAS.sgemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                }
            } } }
            emitJSON([("suite", "core-ops"), ("op", "sgemm"), ("shape", name), ("m", m), ("n", n), ("k", k),
                  ("threads", threads), ("seconds", t), ("gflops", 2.0 * Double(m * n * k) / t / 1e9)])
        }
    }
    BLAS.threads = saved

    // Channel-first ops at the S4ND W1 shape: (32, 64, 28, 28).
    let B = 32, H = 64, shape = [B, H, 28, 28]
    let x = Variable(Tensor.normal(shape, rng: &rng), requiresGrad: true)
    let lin = Linear(H, H, rng: &rng)
    let ln = LayerNorm(H, axis: 1)
    let elems = Double(Tensor.count(of: shape))
    func bench(_ name: String, flops: Double?, _ f: (Variable) -> Variable) {
        let fwd = timePerCall { _ = Autograd.withoutGradients { f(x) } }
        let g = Tensor.normal(Autograd.withoutGradients { f(x) }.shape, rng: &rng)   // seed of the output's shape
        let fb = timePerCall { let y = f(x); y.backward(g); x.zeroGrad(); for p in lin.parameters + ln.parameters { p.zeroGrad() } }
        var fields: [(String, Any)] = [("suite", "core-ops"), ("op", name), ("shape", "32x64x28x28"),
                                       ("forward_seconds", fwd), ("forward_backward_seconds", fb),
                                       ("forward_gelems_per_s", elems / fwd / 1e9)]
        if let flops { fields.append(("forward_gflops", flops / fwd / 1e9)) }
        emitJSON(fields)
    }
    bench("linearChannels", flops: 2 * Double(B * H * H * 784)) { lin.channels($0) }
    bench("layerNorm_axis1", flops: nil) { ln($0) }
    bench("gelu", flops: nil) { gelu($0) }
    let channelScale = Variable(Tensor.normal([H, 1, 1], rng: &rng), requiresGrad: true)
    bench("mul_broadcast_channel", flops: nil) { $0 * channelScale }
    bench("glu_axis1", flops: nil) { glu($0, axis: 1) }
    bench("add_same_shape", flops: nil) { $0 + $0 }
    bench("avgPool_2x2", flops: nil) { avgPool($0, kernel: [2, 2]) }
}
