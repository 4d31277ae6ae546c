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
    }
}
