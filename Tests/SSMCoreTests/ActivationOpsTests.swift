import XCTest
import Foundation
import SSMCore
import TestSupport

final class ActivationOpsTests: XCTestCase {
    var rng = SeededRNG(seed: 13)
    func r(_ shape: [Int], scale: Float = 1.5) -> Tensor { TestSupport.randomTensor(shape, scale: scale, rng: &rng) }

    func testGeluMatchesErfFormInDouble() {
        let x = Tensor(shape: [5], data: [-3, -0.5, 0, 0.7, 2.5])
        let y = gelu(Variable(x)).value
        let ref = x.data.map { v -> Float in let d = Double(v); return Float(0.5 * d * (1 + erf(d / 2.0.squareRoot()))) }
        assertClose(y, Tensor(shape: [5], data: ref), atol: 1e-6)
        // Not the tanh approximation: at x = −3 they differ by ~3e-4.
        XCTAssertEqual(y.data[0], -0.0040496, accuracy: 2e-6)
    }

    func testPointwiseGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 5])], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in gelu(v[0]) }
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 5])], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in sigmoid(v[0]) }
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 5])], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in tanh(v[0]) }
    }

    func testSigmoidTanhForward() {
        let x = Tensor(shape: [3], data: [-2, 0, 1])
        assertClose(sigmoid(Variable(x)).value, Tensor(shape: [3], data: x.data.map { 1 / (1 + Foundation.exp(-$0)) }), atol: 1e-6)
        assertClose(tanh(Variable(x)).value, Tensor(shape: [3], data: x.data.map { Foundation.tanh($0) }), atol: 1e-6)
    }

    func testGluForwardOnEachAxis() {
        let x = r([2, 4, 3])
        let y = glu(Variable(x), axis: 1).value
        XCTAssertEqual(y.shape, [2, 2, 3])
        for b in 0..<2 { for c in 0..<2 { for l in 0..<3 {
            let a = x.data[(b * 4 + c) * 3 + l], g = x.data[(b * 4 + c + 2) * 3 + l]
            XCTAssertEqual(y.data[(b * 2 + c) * 3 + l], a / (1 + Foundation.exp(-g)), accuracy: 1e-6)
        } } }
        let x2 = r([3, 6])
        let y2 = glu(Variable(x2)).value
        XCTAssertEqual(y2.shape, [3, 3])
        XCTAssertEqual(y2.data[4], x2.data[7] / (1 + Foundation.exp(-x2.data[10])), accuracy: 1e-6)
    }

    func testGluGradients() {
        for axis in [0, 1, -1] {
            assertGradientsMatchFiniteDifferences(inputs: [r([2, 4, 6])], atol: 5e-3, rtol: 5e-3) { v in glu(v[0], axis: axis) }
        }
    }
}
