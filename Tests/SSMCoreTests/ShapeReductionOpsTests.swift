import XCTest
import SSMCore
import TestSupport

final class ShapeReductionOpsTests: XCTestCase {
    var rng = SeededRNG(seed: 12)
    func r(_ shape: [Int]) -> Tensor { TestSupport.randomTensor(shape, rng: &rng) }

    func testPermutedMatchesIndexLoop() {
        let x = r([2, 3, 4, 5])
        let y = x.permuted([2, 0, 3, 1])
        XCTAssertEqual(y.shape, [4, 2, 5, 3])
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<5 {
            XCTAssertEqual(y.data[((c * 2 + a) * 5 + d) * 3 + b], x.data[((a * 3 + b) * 4 + c) * 5 + d])
        } } } }
    }

    func testReshapePermuteGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4])]) { v in v[0].reshaped([4, -1]) * v[0].reshaped([4, 6]) }
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4])]) { v in
            v[0].permuted([2, 0, 1]) * Variable(Tensor(shape: [4, 2, 3], data: (0..<24).map { Float($0) / 10 }))
        }
    }

    func testSumMeanForward() {
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(Variable(x).sum().value.data, [21])
        XCTAssertEqual(Variable(x).mean().value.data, [3.5])
        XCTAssertEqual(Variable(x).sum(axis: 0).value.data, [5, 7, 9])
        XCTAssertEqual(Variable(x).sum(axis: -1, keepDims: true).value.shape, [2, 1])
        XCTAssertEqual(Variable(x).mean(axis: 1).value.data, [2, 5])
    }

    func testSumMeanGradients() {
        let w = Variable(r([2, 3, 4]))
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4])]) { v in (v[0] * w).sum() }
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4])]) { v in (v[0] * w).mean() }
        for axis in [0, 1, 2, -1] {
            assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4])]) { v in (v[0] * w).sum(axis: axis) }
            assertGradientsMatchFiniteDifferences(inputs: [r([2, 3, 4])]) { v in (v[0] * w).mean(axis: axis, keepDims: true) }
        }
    }
}
