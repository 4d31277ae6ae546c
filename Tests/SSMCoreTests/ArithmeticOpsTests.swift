import XCTest
import SSMCore
import TestSupport

final class ArithmeticOpsTests: XCTestCase {
    var rng = SeededRNG(seed: 11)

    func r(_ shape: [Int]) -> Tensor { TestSupport.randomTensor(shape, rng: &rng) }
    /// Strictly positive values away from zero (for division).
    func pos(_ shape: [Int]) -> Tensor { r(shape).map { 1.5 + abs($0) } }

    func testBroadcastForwardMatchesLoop() {
        let a = r([2, 3, 4]), b = r([3, 1])
        let y = (Variable(a) * Variable(b)).value
        XCTAssertEqual(y.shape, [2, 3, 4])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 {
            XCTAssertEqual(y.data[(i * 3 + j) * 4 + k], a.data[(i * 3 + j) * 4 + k] * b.data[j])
        } } }
        let z = (Variable(r([1, 3, 1])) + Variable(r([2, 1, 4]))).value
        XCTAssertEqual(z.shape, [2, 3, 4])
    }

    func testReducedToBroadcastShapeSumsStretchedAxes() {
        let g = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(g.reduced(toBroadcastShape: [3]).data, [5, 7, 9])
        XCTAssertEqual(g.reduced(toBroadcastShape: [2, 1]).data, [6, 15])
        XCTAssertEqual(g.reduced(toBroadcastShape: [1, 1]).data, [21])
        XCTAssertEqual(g.reduced(toBroadcastShape: []).data, [21])
    }

    func testAddSubGradientsWithBroadcasting() {
        for (sa, sb) in [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [3, 1]), ([1, 3, 1], [2, 1, 4]), ([4], [2, 3, 4])] {
            assertGradientsMatchFiniteDifferences(inputs: [r(sa), r(sb)]) { v in v[0] + v[1] }
            assertGradientsMatchFiniteDifferences(inputs: [r(sa), r(sb)]) { v in v[0] - v[1] }
        }
    }

    func testMulDivGradientsWithBroadcasting() {
        for (sa, sb) in [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [3, 1]), ([1, 3, 1], [2, 1, 4]), ([4], [2, 3, 4])] {
            assertGradientsMatchFiniteDifferences(inputs: [r(sa), r(sb)], atol: 1e-2, rtol: 1e-2) { v in v[0] * v[1] }
            assertGradientsMatchFiniteDifferences(inputs: [r(sa), pos(sb)], atol: 1e-2, rtol: 1e-2) { v in v[0] / v[1] }
        }
    }

    func testScalarOpsAndNegationGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 4])]) { v in ((v[0] + 2) * 3 - 1) / 4 }
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 4])]) { v in 2 - (-v[0]) * 0.5 + (1 + v[0]) }
        assertGradientsMatchFiniteDifferences(inputs: [pos([3, 4])], atol: 1e-2, rtol: 1e-2) { v in 3 / v[0] }
        let y = 3 / Variable(Tensor(shape: [2], data: [2, -4]))
        XCTAssertEqual(y.value.data, [1.5, -0.75])
    }

    func testGradientAccumulatesWhenInputUsedTwice() {
        // d/dx (x·x) = 2x: both operands are the same node.
        let x = Variable(Tensor(shape: [3], data: [1, -2, 0.5]), requiresGrad: true)
        (x * x).sum().backward()
        XCTAssertEqual(x.grad?.data, [2, -4, 1])
    }
}
