import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// Real N-D FFTs against a direct DFT, and the plan cache.
final class FFTTests: XCTestCase {
    /// Direct rfftn of one plane (Double), zero-padded to `size`, half spectrum on the last axis.
    private func naiveRFFTN(_ x: [Float], shape: [Int], size: [Int]) -> [Float] {
        let n = size.count
        var spectral = size
        spectral[n - 1] = size[n - 1] / 2 + 1
        var out: [Float] = []
        let fCount = spectral.reduce(1, *), pCount = shape.reduce(1, *)
        for fi in 0..<fCount {
            var f = [Int](repeating: 0, count: n), r = fi
            for k in stride(from: n - 1, through: 0, by: -1) { f[k] = r % spectral[k]; r /= spectral[k] }
            var re = 0.0, im = 0.0
            for pi in 0..<pCount {
                var phase = 0.0, r2 = pi
                for k in stride(from: n - 1, through: 0, by: -1) {
                    let p = r2 % shape[k]; r2 /= shape[k]
                    phase += Double(f[k] * p) / Double(size[k])
                }
                let v = Double(x[pi])
                re += v * cos(-2 * Double.pi * phase)
                im += v * sin(-2 * Double.pi * phase)
            }
            out += [Float(re), Float(im)]
        }
        return out
    }

    func testRFFTNMatchesDirectDFTWithPadding() {
        var rng = SeededRNG(seed: 1)
        for (shape, size) in [([7], [7]), ([5], [12]), ([3, 5], [6, 9]), ([3, 4, 5], [5, 4, 7])] {
            let x = TestSupport.randomTensor([2] + shape, rng: &rng)
            let X = FFT.rfftn(x, size: size)
            let per = X.count / 2
            var expected: [Float] = []
            for b in 0..<2 {
                let plane = Array(x.data[(b * x.count / 2)..<((b + 1) * x.count / 2)])
                expected += naiveRFFTN(plane, shape: shape, size: size)
            }
            XCTAssertEqual(X.count, per * 2)
            assertClose(X, Tensor(shape: X.shape, data: expected), atol: 2e-4, "shape \(shape) size \(size)")
        }
    }

    func testIRFFTNInvertsRFFTN() {
        var rng = SeededRNG(seed: 2)
        for size in [[9], [16], [5, 7], [4, 3, 6]] {
            let x = TestSupport.randomTensor([3] + size, rng: &rng)
            let back = FFT.irfftn(FFT.rfftn(x, size: size), size: size)
            assertClose(back, x, atol: 1e-5, "size \(size)")
        }
    }

    func testPlansAreCachedPerShapeBatchAndDirection() {
        let a = FFTPlan.cached(shape: [37, 3], direction: .forward)
        let b = FFTPlan.cached(shape: [37, 3], direction: .forward)
        let c = FFTPlan.cached(shape: [37, 3], direction: .inverse)
        let d = FFTPlan.cached(shape: [37, 3], batch: 2, direction: .forward)
        XCTAssertTrue(a === b)
        XCTAssertFalse(a === c)
        XCTAssertFalse(a === d)
        XCTAssertEqual(a.complexCount, 37 * 2)
    }

    func testConcurrentPlanRequestsShareOnePlan() {
        let shapes = [[41], [43], [41], [43], [47], [41], [47], [43]]
        var plans = [FFTPlan?](repeating: nil, count: 64)
        plans.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: 64) { i in
                o[i] = FFTPlan.cached(shape: shapes[i % shapes.count], direction: .forward)
            }
        }
        for i in 0..<64 {
            XCTAssertTrue(plans[i]! === FFTPlan.cached(shape: shapes[i % shapes.count], direction: .forward))
        }
    }

    func testBatchedPlanMatchesPerPlaneTransform() {
        var rng = SeededRNG(seed: 3)
        let x = TestSupport.randomTensor([3, 10], rng: &rng)
        let plan = FFTPlan.cached(shape: [10], batch: 3, direction: .forward)
        let real = FFTBuffer(count: 30), spec = FFTBuffer(count: 2 * 6 * 3)
        for i in 0..<30 { real.pointer[i] = x.data[i] }
        plan.forward(real.pointer, spec.pointer)
        let expected = FFT.rfftn(x, size: [10])
        let got = Tensor(shape: expected.shape, data: Array(UnsafeBufferPointer(start: spec.pointer, count: 36)))
        assertClose(got, expected, atol: 1e-5)
    }

    /// Lengths with a prime factor above 13 are planned with FFTW's heuristic (measuring them is slow).
    func testLargestPrimeFactor() {
        XCTAssertEqual([1, 2, 12, 97, 60192, 65536, 2 * 3 * 5 * 7 * 11 * 13].map(FFTPlanCache.largestPrimeFactor), [1, 2, 3, 97, 19, 2, 13])
    }
}
