import XCTest
@testable import SSMCore

final class AutogradSmokeTests: XCTestCase {
    func testLeafAccumulatesGradientThroughDiamond() {
        // y = x*x + x  (written with closures so the test is independent of the op library)
        let x = Variable(Tensor(shape: [2], data: [3, -1]), requiresGrad: true)
        let sq = Variable(Tensor(shape: [2], data: x.value.data.map { $0 * $0 }), parents: [x]) { g in
            [Tensor(shape: [2], data: zip(g.data, x.value.data).map { 2 * $0 * $1 })]
        }
        let y = Variable(Tensor(shape: [2], data: zip(sq.value.data, x.value.data).map(+)), parents: [sq, x]) { g in [g, g] }
        y.backward()
        XCTAssertEqual(x.grad?.data, [7, -1])
    }

    func testNoRecordingInsideWithoutGradients() {
        let x = Variable(Tensor(shape: [1], data: [1]), requiresGrad: true)
        let y = Autograd.withoutGradients { Variable(x.value, parents: [x]) { g in [g] } }
        XCTAssertFalse(y.requiresGrad)
    }
}
