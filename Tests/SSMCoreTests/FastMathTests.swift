import Foundation
import XCTest
@testable import SSMCore

final class FastMathTests: XCTestCase {
    func testExpRelativeErrorAgainstLibm() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let ref = Foundation.exp(Double(x))
            let rel = abs(Double(FastMath.exp(x)) - ref) / ref
            worst = max(worst, rel)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 4e-7, "max relative error \(worst)")
        XCTAssertEqual(FastMath.exp(0), 1)
        XCTAssertGreaterThan(FastMath.exp(-200), -1e-30)
        XCTAssertTrue(FastMath.exp(200).isFinite)
    }

    func testErfAbsoluteErrorAgainstLibm() {
        var worst: Double = 0
        var x: Float = -8
        while x < 8 {
            worst = max(worst, abs(Double(FastMath.erf(x)) - Foundation.erf(Double(x))))
            x += 0.00173
        }
        XCTAssertLessThan(worst, 3e-7, "max absolute error \(worst)")
        XCTAssertEqual(FastMath.erf(0), 0, accuracy: 1e-7)
    }

    func testSigmoid() {
        for x: Float in [-30, -5, -1, 0, 0.5, 3, 20] {
            XCTAssertEqual(FastMath.sigmoid(x), Float(1 / (1 + Foundation.exp(-Double(x)))), accuracy: 3e-7)
        }
    }
}
