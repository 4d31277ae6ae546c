import XCTest
import SSMCore
import TestSupport

final class LinearOpsTests: XCTestCase {
    var rng = SeededRNG(seed: 14)
    func r(_ shape: [Int]) -> Tensor { TestSupport.randomTensor(shape, rng: &rng) }

    /// Slow reference: (…, m, k) × (…, k, n) with Double accumulation.
    func referenceMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        let batch = a.count / (m * k)
        let shared = b.rank == 2
        var out = [Float](repeating: 0, count: batch * m * n)
        for t in 0..<batch { for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a.data[t * m * k + i * k + p]) * Double(b.data[(shared ? 0 : t * k * n) + p * n + j]) }
            out[t * m * n + i * n + j] = Float(s)
        } } }
        return Tensor(shape: Array(a.shape.dropLast(2)) + [m, n], data: out)
    }

    func testMatmulForwardMatchesLoops() {
        let a = r([3, 5, 7]), b = r([3, 7, 4]), w = r([7, 6])
        assertClose(Tensor.matmul(a, b), referenceMatmul(a, b), atol: 1e-5)
        assertClose(Tensor.matmul(a, w), referenceMatmul(a, w), atol: 1e-5)
        let at = a.permuted([0, 2, 1])
        assertClose(Tensor.matmul(at, b, transposeA: true), referenceMatmul(a, b), atol: 1e-5)
        assertClose(Tensor.matmul(a, b.permuted([0, 2, 1]), transposeB: true), referenceMatmul(a, b), atol: 1e-5)
        assertClose(matmul(Variable(a), Variable(b)).value, referenceMatmul(a, b), atol: 1e-5)
    }

    func testMatmulGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4]), r([2, 4, 5])], atol: 1e-2, rtol: 1e-2) { v in matmul(v[0], v[1]) }
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4]), r([4, 5])], atol: 1e-2, rtol: 1e-2) { v in matmul(v[0], v[1]) }
    }

    func testLinearForwardMatchesLoops() {
        let x = r([2, 3, 5]), w = r([4, 5]), b = r([4])
        let y = linear(Variable(x), Variable(w), Variable(b)).value
        XCTAssertEqual(y.shape, [2, 3, 4])
        var ref = [Float](repeating: 0, count: 24)
        for row in 0..<6 { for o in 0..<4 {
            var s = Double(b.data[o])
            for i in 0..<5 { s += Double(x.data[row * 5 + i]) * Double(w.data[o * 5 + i]) }
            ref[row * 4 + o] = Float(s)
        } }
        assertClose(y, Tensor(shape: [2, 3, 4], data: ref), atol: 1e-5)
        let y0 = linear(Variable(x), Variable(w)).value
        assertClose(y0 + b, y, atol: 1e-5)
    }

    func testLinearGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 5]), r([4, 5]), r([4])], atol: 1e-2, rtol: 1e-2) { v in
            linear(v[0], v[1], v[2])
        }
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 5]), r([4, 5])], atol: 1e-2, rtol: 1e-2) { v in linear(v[0], v[1]) }
    }

    func testLinearChannelsForwardMatchesLoops() {
        let x = r([3, 5, 2, 4]), w = r([6, 5]), b = r([6])
        let y = linearChannels(Variable(x), Variable(w), Variable(b)).value
        XCTAssertEqual(y.shape, [3, 6, 2, 4])
        let L = 8
        var ref = [Float](repeating: 0, count: 3 * 6 * L)
        for bb in 0..<3 { for o in 0..<6 { for l in 0..<L {
            var s = Double(b.data[o])
            for c in 0..<5 { s += Double(w.data[o * 5 + c]) * Double(x.data[(bb * 5 + c) * L + l]) }
            ref[(bb * 6 + o) * L + l] = Float(s)
        } } }
        assertClose(y, Tensor(shape: [3, 6, 2, 4], data: ref), atol: 1e-5)
        // Same as linear on the channel-last layout.
        let viaLinear = linear(Variable(x.permuted([0, 2, 3, 1])), Variable(w), Variable(b)).value.permuted([0, 3, 1, 2])
        assertClose(y, viaLinear, atol: 1e-5)
    }

    func testLinearChannelsGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 4, 5]), r([2, 4]), r([2])], atol: 1e-2, rtol: 1e-2) { v in
            linearChannels(v[0], v[1], v[2])
        }
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 2, 3]), r([4, 3])], atol: 1e-2, rtol: 1e-2) { v in
            linearChannels(v[0], v[1])
        }
    }

    func testLinearChannelsWeightGradientSumsOverBatchChunks() {
        let x = r([5, 3, 7]), w = r([4, 3]), g = r([5, 4, 7])
        let wv = Variable(w, requiresGrad: true)
        linearChannels(Variable(x), wv).backward(g)
        var ref = [Float](repeating: 0, count: 12)
        for b in 0..<5 { for o in 0..<4 { for c in 0..<3 {
            var s = 0.0
            for l in 0..<7 { s += Double(g.data[(b * 4 + o) * 7 + l]) * Double(x.data[(b * 3 + c) * 7 + l]) }
            ref[o * 3 + c] += Float(s)
        } } }
        assertClose(wv.grad!, Tensor(shape: [4, 3], data: ref), atol: 1e-4)
    }

    func testEmptyBatchesGiveEmptyOutputsAndZeroWeightGradients() {
        let w = Variable(r([4, 5]), requiresGrad: true), b = Variable(r([4]), requiresGrad: true)
        let y = linear(Variable(Tensor.zeros([0, 5]), requiresGrad: true), w, b)
        XCTAssertEqual(y.shape, [0, 4])
        y.backward(Tensor.zeros([0, 4]))
        XCTAssertEqual(w.grad, Tensor.zeros([4, 5]))
        XCTAssertEqual(b.grad, Tensor.zeros([4]))
        let yc = linearChannels(Variable(Tensor.zeros([0, 5, 3])), Variable(r([2, 5])))
        XCTAssertEqual(yc.shape, [0, 2, 3])
        XCTAssertEqual(Tensor.matmul(Tensor.zeros([2, 0, 3]), r([3, 4])).shape, [2, 0, 4])
    }

    func testLinearLayerInitIsSeededAndBounded() {
        var r1 = SeededRNG(seed: 5), r2 = SeededRNG(seed: 5)
        let l1 = Linear(16, 8, rng: &r1), l2 = Linear(16, 8, rng: &r2)
        XCTAssertEqual(l1.weight.value, l2.weight.value)
        XCTAssertEqual(l1.bias?.value, l2.bias?.value)
        let bound: Float = 0.25
        XCTAssertTrue(l1.weight.value.data.allSatisfy { abs($0) <= bound })
        XCTAssertTrue(l1.bias!.value.data.allSatisfy { abs($0) <= bound })
        // Spread over the interval, not collapsed near zero.
        XCTAssertGreaterThan(l1.weight.value.data.map(abs).max()!, 0.2)
        XCTAssertEqual(l1.namedParameters.map { $0.0 }, ["weight", "bias"])
        XCTAssertEqual(l1.weight.shape, [8, 16])
        let y = l1(Variable(r([2, 16])))
        XCTAssertEqual(y.shape, [2, 8])
        XCTAssertEqual(l1.channels(Variable(r([2, 16, 3]))).shape, [2, 8, 3])
    }

    func testParallelForEachVisitsEveryIndexAndRestoresBLASThreads() {
        let before = BLAS.threads
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { h in
            let p = h.baseAddress!
            Parallel.forEach(1000) { i in
                p[i] += 1
                // Nested loops run inline.
                Parallel.forEach(2) { _ in }
            }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1000))
        XCTAssertEqual(BLAS.threads, before)
    }

    /// GEMMs big enough to be split across the workers (along n when wide, along m when tall),
    /// in all four transpose combinations, with alpha, beta and padded row strides.
    func testSplitSGEMMMatchesLoops() {
        XCTAssertFalse(Parallel.isActive)
        for (m, n, k) in [(9, 700, 200), (700, 9, 200), (64, 1000, 33)] {
            XCTAssertGreaterThanOrEqual(m * n * k, BLAS.splitFlops)
            for transA in [false, true] { for transB in [false, true] {
                let (ar, ac) = transA ? (k, m) : (m, k), (br, bc) = transB ? (n, k) : (k, n)
                let lda = ac + 3, ldb = bc + 5, ldc = n + 2
                let a = r([ar * lda]), b = r([br * ldb]), c0 = r([m * ldc])
                var c = c0.data
                a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: pa.baseAddress!, lda: lda,
                               b: pb.baseAddress!, ldb: ldb, beta: 0.25, c: pc.baseAddress!, ldc: ldc)
                } } }
                var worst: Float = 0
                for i in 0..<m { for j in 0..<(ldc) {
                    var expected = Double(c0.data[i * ldc + j])   // padding columns stay as they were
                    if j < n {
                        var s = 0.0
                        for p in 0..<k {
                            let av = transA ? a.data[p * lda + i] : a.data[i * lda + p]
                            let bv = transB ? b.data[j * ldb + p] : b.data[p * ldb + j]
                            s += Double(av) * Double(bv)
                        }
                        expected = 0.5 * s + 0.25 * expected
                    }
                    worst = max(worst, abs(c[i * ldc + j] - Float(expected)))
                } }
                XCTAssertLessThan(worst, 1e-4, "m \(m) n \(n) k \(k) transA \(transA) transB \(transB)")
            } }
        }
        XCTAssertEqual(BLAS.threads, 1, "OpenBLAS stays single-threaded; parallelism is Parallel's")
    }
}
