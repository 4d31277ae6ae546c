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
}
