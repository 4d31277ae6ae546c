<<<<<<< HEAD
import XCTest
import Foundation
@testable import SSMCore

final class FastMathTests: XCTestCase {
    func testFastExpRelativeErrorOverFloatRange() {
        var worst = 0.0, at: Float = 0
        var x: Float = -87
        while x <= 88 {
            let ref = Foundation.exp(Double(x))
            let rel = abs(Double(fastExp(x)) - ref) / ref
            if rel > worst { worst = rel; at = x }
            x += 0.00731
        }
        XCTAssertLessThan(worst, 3e-7, "worst relative error at x = \(at)")
        XCTAssertEqual(fastExp(0), 1)
        XCTAssertEqual(fastExp(-1000), 0, accuracy: 1e-37)
        XCTAssertTrue(fastExp(1000).isFinite)
    }

    func testNormalCDFAndPDFAgainstDoubleErf() {
        var worstCDF = 0.0, worstPDF = 0.0, worstLeftTailRel = 0.0
        var x: Float = -9
        while x <= 9 {
            let d = Double(x)
            let cdf = 0.5 * Foundation.erfc(-d / 2.0.squareRoot())
            let pdf = Foundation.exp(-d * d / 2) / (2 * Double.pi).squareRoot()
            let (c, p) = normalCDFAndPDF(x)
            worstCDF = max(worstCDF, abs(Double(c) - cdf))
            worstPDF = max(worstPDF, abs(Double(p) - pdf))
            if x < -1 && cdf > 1e-30 { worstLeftTailRel = max(worstLeftTailRel, abs(Double(c) - cdf) / cdf) }
            x += 0.00377
        }
        XCTAssertLessThan(worstCDF, 3e-7)
        XCTAssertLessThan(worstPDF, 1e-7)
        // The left tail is computed without cancellation: the error shrinks with Φ itself
        // (1 + erf(x/√2) evaluated directly would lose everything below ~1e-7).
        XCTAssertLessThan(worstLeftTailRel, 0.02)
    }

    func testFastSigmoidMatchesDouble() {
        var worst = 0.0
        var x: Float = -30
        while x <= 30 {
            worst = max(worst, abs(Double(fastSigmoid(x)) - 1 / (1 + Foundation.exp(-Double(x)))))
            x += 0.0113
        }
        XCTAssertLessThan(worst, 2e-7)
=======
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
>>>>>>> s4nd
    }
}
