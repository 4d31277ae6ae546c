import XCTest
import SSMCore
import TestSupport
@testable import S4ND

final class ToeplitzConvolutionTests: XCTestCase {
    /// Bidirectional padded layout as S4ND uses it: k0 at [0, Lk), flip(k1) at [L, L + Lk).
    func padded(_ k0: [Float], _ k1: [Float], L: Int) -> [Float] {
        let Lk = k0.count
        var p = [Float](repeating: 0, count: L + Lk)
        for d in 0..<Lk { p[d] = k0[d] }
        for m in 0..<Lk { p[L + m] += k1[Lk - 1 - m] }
        return p
    }

    /// Direct reference: circular convolution of length P of the zero-padded signal, first L outputs.
    func circularReference(_ u: [Float], _ kpad: [Float], L: Int) -> [Float] {
        let P = kpad.count
        return (0..<L).map { i in (0..<L).reduce(Float(0)) { $0 + u[$1] * kpad[((i - $1) % P + P) % P] } }
    }

    func testToeplitzMatchesPaddedCircularConvolution() {
        var rng = SeededRNG(seed: 1)
        for (L, Lk) in [(7, 7), (12, 5), (10, 10), (1, 1)] {
            let k0 = (0..<Lk).map { _ in rng.normal() }, k1 = (0..<Lk).map { _ in rng.normal() }
            let kp = padded(k0, k1, L: L)
            let u = (0..<L).map { _ in rng.normal() }
            let T = toeplitz(Variable(Tensor(shape: [1, kp.count], data: kp)), length: L).value
            let y = (0..<L).map { i in (0..<L).reduce(Float(0)) { $0 + T.data[i * L + $1] * u[$1] } }
            assertClose(Tensor(shape: [L], data: y), Tensor(shape: [L], data: circularReference(u, kp, L: L)), atol: 1e-5)
            // Linear (not circular): no output depends on an input further than Lk away.
            for i in 0..<L { for j in 0..<L where abs(i - j) > Lk { XCTAssertEqual(T.data[i * L + j], 0) } }
        }
    }

    /// Separable 2-D convolution by two mode products equals the direct 2-D convolution with the
    /// outer-product kernel, for a (H, B, L1, L2) tensor and for the (H, L1, B, L2) layout.
    func testTwoModeProductsEqualDirectSeparable2DConvolution() {
        var rng = SeededRNG(seed: 2)
        let H = 3, B = 2, L1 = 6, L2 = 5, P1 = 11, P2 = 9
        let k1 = TestSupport.randomTensor([H, P1], rng: &rng), k2 = TestSupport.randomTensor([H, P2], rng: &rng)
        let u = TestSupport.randomTensor([H, B, L1, L2], rng: &rng)
        let T1 = toeplitz(Variable(k1), length: L1), T2 = toeplitz(Variable(k2), length: L2)
        let y = modeProduct(modeProduct(Variable(u), T1, axis: 2), T2, axis: 3).value
        var ref = [Float](repeating: 0, count: u.count)
        for h in 0..<H { for b in 0..<B { for i in 0..<L1 { for j in 0..<L2 {
            var s: Float = 0
            for a in 0..<L1 { for c in 0..<L2 {
                let d1 = ((i - a) % P1 + P1) % P1, d2 = ((j - c) % P2 + P2) % P2
                s += k1.data[h * P1 + d1] * k2.data[h * P2 + d2] * u.data[((h * B + b) * L1 + a) * L2 + c]
            } }
            ref[((h * B + b) * L1 + i) * L2 + j] = s
        } } } }
        assertClose(y, Tensor(shape: u.shape, data: ref), atol: 1e-4)

        // Same maths in the (H, L1, B, L2) layout (one GEMM per channel and axis).
        let uT = permute(u, [0, 2, 1, 3])
        let yT = modeProduct(modeProduct(Variable(uT), T1, axis: 1), T2, axis: 3).value
        assertClose(permute(yT, [0, 2, 1, 3]), y, atol: 1e-4)
    }

    func testModeProductGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 3)
        for (shape, axis) in [([2, 3, 4], 1), ([2, 3, 4], 2), ([2, 2, 3, 2], 2), ([2, 3, 2, 4], 1), ([2, 2, 2, 3], 3)] {
            let La = shape[axis]
            let u = TestSupport.randomTensor(shape, rng: &rng)
            let t = TestSupport.randomTensor([shape[0], La, La], rng: &rng)
            assertGradientsMatchFiniteDifferences(inputs: [u, t], eps: 1e-2, atol: 1e-2, rtol: 1e-2) { v in
                modeProduct(v[0], v[1], axis: axis)
            }
        }
    }

    func testToeplitzGradientMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 4)
        let k = TestSupport.randomTensor([2, 9], rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [k], eps: 1e-2, atol: 1e-2, rtol: 1e-2) { v in
            toeplitz(v[0], length: 5)
        }
    }

    /// Reference permutation on plain tensors (test-local, independent of the library's ops).
    func permute(_ t: Tensor, _ perm: [Int]) -> Tensor {
        let s = t.shape, ns = perm.map { s[$0] }
        let st = Tensor.strides(of: s), nst = Tensor.strides(of: ns)
        var out = [Float](repeating: 0, count: t.count)
        for flat in 0..<t.count {
            var rem = flat, src = 0
            for a in 0..<ns.count { let idx = rem / nst[a]; rem %= nst[a]; src += idx * st[perm[a]] }
            out[flat] = t.data[src]
        }
        return Tensor(shape: ns, data: out)
    }
}
