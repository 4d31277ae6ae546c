import Foundation
import XCTest
import SSMCore
import TestSupport
@testable import S4ND

final class FusedActivationTests: XCTestCase {
    func testSkipGELUMatchesUnfusedOps() {
        var rng = SeededRNG(seed: 5)
        let y = TestSupport.randomTensor([3, 2, 5], rng: &rng), u = TestSupport.randomTensor([3, 2, 5], rng: &rng)
        let D = TestSupport.randomTensor([1, 3], rng: &rng)
        let fused = skipGELU(Variable(y), Variable(u), Variable(D)).value
        let reference = gelu(Variable(y) + Variable(u) * Variable(D).reshaped([3, 1, 1])).value
        assertClose(fused, reference, atol: 1e-6)
    }

    func testSkipGELUGradients() {
        var rng = SeededRNG(seed: 6)
        let y = TestSupport.randomTensor([3, 2, 4], rng: &rng), u = TestSupport.randomTensor([3, 2, 4], rng: &rng)
        let D = TestSupport.randomTensor([1, 3], rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [y, u, D], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in skipGELU(v[0], v[1], v[2]) }
    }

    func testGLUChannelsMatchesGLUAndGradients() {
        var rng = SeededRNG(seed: 7)
        let x = TestSupport.randomTensor([1, 6, 7], scale: 2, rng: &rng)
        assertClose(gluChannels(Variable(x)).value, glu(Variable(x), axis: 1).value, atol: 1e-6)
        assertGradientsMatchFiniteDifferences(inputs: [x], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in gluChannels(v[0]) }
    }

    /// Inference (no graph recorded, `z` not kept) gives the same values as training mode, over
    /// runs long enough for the vector body and its remainder (37 per channel).
    func testSkipGELUWithoutGradientsEqualsRecordedAndReference() {
        var rng = SeededRNG(seed: 8)
        let y = TestSupport.randomTensor([4, 37], scale: 4, rng: &rng), u = TestSupport.randomTensor([4, 37], scale: 4, rng: &rng)
        let D = Variable(TestSupport.randomTensor([1, 4], rng: &rng), requiresGrad: true)
        let recorded = skipGELU(Variable(y), Variable(u), D)
        XCTAssertTrue(recorded.requiresGrad)
        let inference = Autograd.withoutGradients { skipGELU(Variable(y), Variable(u), D) }
        XCTAssertFalse(inference.requiresGrad)
        XCTAssertEqual(inference.value.data, recorded.value.data)
        for h in 0..<4 { for i in 0..<37 {
            let v = Double(y.data[h * 37 + i]) + Double(D.value.data[h]) * Double(u.data[h * 37 + i])
            let expected = v * 0.5 * (1 + erf(v / 2.0.squareRoot()))
            XCTAssertEqual(Double(inference.value.data[h * 37 + i]), expected, accuracy: 2e-6 * max(1, abs(v)))
        } }
    }
}

final class FusedLinearGLUTests: XCTestCase {
    /// The inference fusion equals linearChannels then gluChannels, with a last partial column block.
    func testMatchesTheTwoOps() {
        var rng = SeededRNG(seed: 4)
        let (H, n) = (6, 1000)
        let x = TestSupport.randomTensor([1, H, n], rng: &rng)
        let w = TestSupport.randomTensor([2 * H, H], scale: 0.5, rng: &rng), b = TestSupport.randomTensor([2 * H], rng: &rng)
        let expected = gluChannels(linearChannels(Variable(x), Variable(w), Variable(b))).value
        for columns in [7, 256, 4096] {
            assertClose(linearGLUChannelsInference(x, w, b, columns: columns), expected, atol: 1e-5)
        }
        assertClose(linearGLUChannelsInference(x, w, nil, columns: 100), gluChannels(linearChannels(Variable(x), Variable(w))).value, atol: 1e-5)
    }
}
