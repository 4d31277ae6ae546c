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

    func testEveryBroadcastInnerLoopFormMatchesIndexLoop() {
        // (row constant, row constant), (constant, contiguous), (contiguous, constant), (contiguous, contiguous),
        // and one-element operands of higher rank.
        let cases: [([Int], [Int])] = [([2, 3, 1], [3, 1]), ([2, 1, 4], [2, 3, 4]), ([2, 3, 4], [2, 3, 1]),
                                       ([4], [2, 3, 4]), ([1, 1], [2, 3]), ([3], [1, 1, 1])]
        for (sa, sb) in cases {
            let a = r(sa), b = r(sb)
            let out = Broadcast.shape(sa, sb)
            let y = a - b
            XCTAssertEqual(y.shape, out)
            let stA = Broadcast.strides(of: sa, in: out), stB = Broadcast.strides(of: sb, in: out)
            let st = Tensor.strides(of: out)
            for i in 0..<y.count {
                var ia = 0, ib = 0
                for d in 0..<out.count { let k = (i / st[d]) % out[d]; ia += k * stA[d]; ib += k * stB[d] }
                XCTAssertEqual(y.data[i], a.data[ia] - b.data[ib], "\(sa) - \(sb) at \(i)")
            }
        }
    }

    func testBigBroadcastSplitOverCoresMatchesIndexLoop() {
        // 256 rows of 1024: the rows are split into pieces that start mid-odometer.
        let a = r([4, 64, 1024]), b = r([64, 1])
        let y = a * b
        var worst: Float = 0
        for i in 0..<4 { for c in 0..<64 { for l in stride(from: 0, to: 1024, by: 5) {
            let k = (i * 64 + c) * 1024 + l
            worst = max(worst, abs(y.data[k] - a.data[k] * b.data[c]))
        } } }
        XCTAssertEqual(worst, 0)
        let z = r([3, 1, 50_000]) + r([1, 2, 1])
        XCTAssertEqual(z.shape, [3, 2, 50_000])
    }

    func testReducedSumsLongRowsExactlyAsALoop() {
        let g = r([2, 3, 11])
        let red = g.reduced(toBroadcastShape: [2, 3, 1])
        for row in 0..<6 {
            let ref = (0..<11).reduce(0.0) { $0 + Double(g.data[row * 11 + $1]) }
            XCTAssertEqual(Double(red.data[row]), ref, accuracy: 1e-5)
        }
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

    func testLargeElementwiseOpsSplitOverCoresMatchSerialLoops() {
        // 140,000 elements (> 2 × 65,536) take the chunked parallel path of map and same-shape broadcasting.
        let a = r([140_000]), b = r([140_000])
        let y = (Variable(a) * Variable(b) + 1).value
        var worst: Float = 0
        for i in 0..<a.count { worst = max(worst, abs(y.data[i] - (a.data[i] * b.data[i] + 1))) }
        XCTAssertEqual(worst, 0)
    }

    func testLeafGradientAccumulatesOverBackwardCalls() {
        let x = Variable(Tensor(shape: [2], data: [1, 2]), requiresGrad: true)
        (x * 3).sum().backward()
        let first = x.grad
        (x * x).sum().backward()
        XCTAssertEqual(first?.data, [3, 3])
        XCTAssertEqual(x.grad?.data, [5, 7])
    }

    func testGradientAccumulatesWhenInputUsedTwice() {
        // d/dx (x·x) = 2x: both operands are the same node.
        let x = Variable(Tensor(shape: [3], data: [1, -2, 0.5]), requiresGrad: true)
        (x * x).sum().backward()
        XCTAssertEqual(x.grad?.data, [2, -4, 1])
    }
}
