import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// FFT convolution against a direct loop, and its gradients against finite differences.
final class FFTConvolutionTests: XCTestCase {
    /// Slow, obvious reference: `y[b, c·H+h, l] = Σ_q u[b, h, q] · k[c, h, (l − q) mod P]` with the
    /// outer-product kernel `k[c, h, p] = Π_i k_i[c, h, p_i]`, for every `l` in the input box.
    static func directConvolution(_ u: Tensor, _ kernels: [Tensor]) -> Tensor {
        let n = kernels.count
        let (bsz, h) = (u.shape[0], u.shape[1])
        let length = Array(u.shape.suffix(n))
        let c = kernels[0].rank == 3 ? kernels[0].shape[0] : 1
        let padded = kernels.map { $0.shape.last! }
        let lCount = length.reduce(1, *)
        func multi(_ i: Int, _ shape: [Int]) -> [Int] {
            var r = i, out = [Int](repeating: 0, count: shape.count)
            for k in stride(from: shape.count - 1, through: 0, by: -1) { out[k] = r % shape[k]; r /= shape[k] }
            return out
        }
        var y = Tensor.zeros([bsz, c * h] + length)
        for b in 0..<bsz { for ci in 0..<c { for hi in 0..<h {
            for li in 0..<lCount {
                let l = multi(li, length)
                var acc = 0.0
                for qi in 0..<lCount {
                    let q = multi(qi, length)
                    var w = 1.0
                    for i in 0..<n {
                        let p = ((l[i] - q[i]) % padded[i] + padded[i]) % padded[i]
                        w *= Double(kernels[i].data[(ci * h + hi) * padded[i] + p])
                    }
                    acc += w * Double(u.data[(b * h + hi) * lCount + qi])
                }
                y.data[((b * c + ci) * h + hi) * lCount + li] = Float(acc)
            }
        }}}
        return y
    }

    func testOneDimensionalCausalMatchesDirectLoop() {
        var rng = SeededRNG(seed: 11)
        let u = TestSupport.randomTensor([3, 4, 13], rng: &rng)
        let k = TestSupport.randomTensor([1, 4, 9], rng: &rng)
        let laid = layoutKernel(Variable(k), inputLength: 13, bidirectional: false) // (1, 4, 22)
        XCTAssertEqual(laid.shape, [1, 4, 22])
        let y = fftConvolution(Variable(u), kernels: [laid])
        assertClose(y.value, Self.directConvolution(u, [laid.value]), atol: 1e-4)
        // Causal: y[l] = Σ_{j ≤ l, j < 9} k[j] u[l − j].
        var expected: Float = 0
        let (b, h, l) = (1, 2, 10)
        for j in 0..<9 where l - j >= 0 { expected += k.data[h * 9 + j] * u.data[(b * 4 + h) * 13 + l - j] }
        XCTAssertEqual(y.value.data[(b * 4 + h) * 13 + l], expected, accuracy: 1e-4)
    }

    func testBidirectionalLayoutIsTheOfficialTwoSidedConvolution() {
        var rng = SeededRNG(seed: 12)
        let (lIn, lk) = (11, 7)
        let u = TestSupport.randomTensor([2, 3, lIn], rng: &rng)
        let k = TestSupport.randomTensor([2, 3, lk], rng: &rng) // k0 = k[0], k1 = k[1]
        let laid = layoutKernel(Variable(k), inputLength: lIn, bidirectional: true)
        XCTAssertEqual(laid.shape, [1, 3, lk + lIn])
        let y = fftConvolution(Variable(u), kernels: [laid]).value
        for b in 0..<2 { for h in 0..<3 { for l in 0..<lIn {
            var e: Float = 0
            for j in 0..<lk where l - j >= 0 { e += k.data[h * lk + j] * u.data[(b * 3 + h) * lIn + l - j] }
            for m in 0..<lk where l + 1 + m < lIn { e += k.data[(3 + h) * lk + m] * u.data[(b * 3 + h) * lIn + l + 1 + m] }
            XCTAssertEqual(y.data[(b * 3 + h) * lIn + l], e, accuracy: 1e-4, "b\(b) h\(h) l\(l)")
        }}}
    }

    func testTwoAndThreeDimensionalMatchDirectLoopWithChannels() {
        var rng = SeededRNG(seed: 13)
        // 2-D, two output channels, odd sizes.
        let u2 = TestSupport.randomTensor([2, 3, 5, 7], rng: &rng)
        let k2 = [TestSupport.randomTensor([2, 3, 9], rng: &rng), TestSupport.randomTensor([2, 3, 11], rng: &rng)]
        let y2 = fftConvolution(Variable(u2), kernels: k2.map { Variable($0) })
        XCTAssertEqual(y2.shape, [2, 6, 5, 7])
        assertClose(y2.value, Self.directConvolution(u2, k2), atol: 2e-4)
        // 3-D, rank-2 kernels (C = 1).
        let u3 = TestSupport.randomTensor([1, 2, 3, 4, 5], rng: &rng)
        let k3 = [TestSupport.randomTensor([2, 5], rng: &rng), TestSupport.randomTensor([2, 7], rng: &rng),
                  TestSupport.randomTensor([2, 9], rng: &rng)]
        let y3 = fftConvolution(Variable(u3), kernels: k3.map { Variable($0) })
        XCTAssertEqual(y3.shape, [1, 2, 3, 4, 5])
        assertClose(y3.value, Self.directConvolution(u3, k3), atol: 2e-4)
    }

    func testGradientsOneDimensional() {
        var rng = SeededRNG(seed: 14)
        let u = TestSupport.randomTensor([2, 3, 9], rng: &rng)
        let k = TestSupport.randomTensor([2, 3, 17], rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [u, k]) { v in fftConvolution(v[0], kernels: [v[1]]) }
    }

    func testGradientsThroughBidirectionalLayout() {
        var rng = SeededRNG(seed: 15)
        let u = TestSupport.randomTensor([2, 2, 7], rng: &rng)
        let k = TestSupport.randomTensor([2, 2, 5], rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [u, k]) { v in
            fftConvolution(v[0], kernels: [layoutKernel(v[1], inputLength: 7, bidirectional: true)])
        }
        assertGradientsMatchFiniteDifferences(inputs: [k]) { v in
            layoutKernel(v[0], inputLength: 3, bidirectional: true)
        }
    }

    func testGradientsTwoDimensionalOddSizes() {
        var rng = SeededRNG(seed: 16)
        let u = TestSupport.randomTensor([2, 2, 3, 5], rng: &rng)
        let k0 = TestSupport.randomTensor([2, 2, 7], rng: &rng)
        let k1 = TestSupport.randomTensor([2, 2, 9], rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [u, k0, k1]) { v in fftConvolution(v[0], kernels: [v[1], v[2]]) }
    }

    func testGradientsThreeDimensionalOddSizes() {
        var rng = SeededRNG(seed: 17)
        let u = TestSupport.randomTensor([1, 2, 3, 3, 5], rng: &rng)
        let ks = [TestSupport.randomTensor([2, 5], rng: &rng), TestSupport.randomTensor([2, 3], rng: &rng),
                  TestSupport.randomTensor([2, 7], rng: &rng)]
        assertGradientsMatchFiniteDifferences(inputs: [u] + ks) { v in fftConvolution(v[0], kernels: Array(v[1...])) }
    }

    func testInputOnlyGradientWhenKernelsAreConstant() {
        var rng = SeededRNG(seed: 18)
        let u = Variable(TestSupport.randomTensor([1, 2, 6], rng: &rng), requiresGrad: true)
        let k = Variable(TestSupport.randomTensor([2, 12], rng: &rng))
        let y = fftConvolution(u, kernels: [k])
        y.backward()
        XCTAssertNotNil(u.grad)
        XCTAssertNil(k.grad)
        // Σ_l y[l] = Σ_q u[q] Σ_{l < 6} k[(l − q) mod 12]  ⇒  ∂/∂u[q] = Σ_{l < 6} k[(l − q) mod 12].
        for q in 0..<6 {
            let e = (0..<6).reduce(Float(0)) { $0 + k.value.data[($1 - q + 12) % 12] }
            XCTAssertEqual(u.grad!.data[q], e, accuracy: 1e-4)
        }
    }
}
