import MediaIO
import SSMCore
import TestSupport
import XCTest

/// The separable resizer against slow, direct 2-D definitions of each filter.
final class ResizeTests: XCTestCase {
    func randomImage(channels: Int, height: Int, width: Int, seed: UInt64) -> Image {
        var rng = SeededRNG(seed: seed)
        return Image(channels: channels, height: height, width: width,
                     pixels: (0..<(channels * height * width)).map { _ in Float(rng.next() % 1000) / 999 })
    }

    /// Area: output pixel = ∬ over its footprint of the piecewise-constant input / footprint area.
    func referenceArea(_ image: Image, _ oh: Int, _ ow: Int) -> [Float] {
        let sy = Double(image.height) / Double(oh), sx = Double(image.width) / Double(ow)
        var out: [Float] = []
        for c in 0..<image.channels {
            for i in 0..<oh {
                for j in 0..<ow {
                    let y0 = Double(i) * sy, y1 = Double(i + 1) * sy, x0 = Double(j) * sx, x1 = Double(j + 1) * sx
                    var acc = 0.0
                    for y in 0..<image.height {
                        let oy = max(0, min(Double(y + 1), y1) - max(Double(y), y0))
                        if oy == 0 { continue }
                        for x in 0..<image.width {
                            let ox = max(0, min(Double(x + 1), x1) - max(Double(x), x0))
                            acc += oy * ox * Double(image[c, y, x])
                        }
                    }
                    out.append(Float(acc / (sy * sx)))
                }
            }
        }
        return out
    }

    /// Bilinear: the four neighbours of the half-pixel-centred source point, edges clamped.
    func referenceBilinear(_ image: Image, _ oh: Int, _ ow: Int) -> [Float] {
        var out: [Float] = []
        for c in 0..<image.channels {
            for i in 0..<oh {
                for j in 0..<ow {
                    let y = min(max((Double(i) + 0.5) * Double(image.height) / Double(oh) - 0.5, 0), Double(image.height - 1))
                    let x = min(max((Double(j) + 0.5) * Double(image.width) / Double(ow) - 0.5, 0), Double(image.width - 1))
                    let y0 = Int(y), x0 = Int(x), y1 = min(y0 + 1, image.height - 1), x1 = min(x0 + 1, image.width - 1)
                    let fy = y - Double(y0), fx = x - Double(x0)
                    let top = (1 - fx) * Double(image[c, y0, x0]) + fx * Double(image[c, y0, x1])
                    let bottom = (1 - fx) * Double(image[c, y1, x0]) + fx * Double(image[c, y1, x1])
                    out.append(Float((1 - fy) * top + fy * bottom))
                }
            }
        }
        return out
    }

    /// Bicubic: 4 × 4 taps of Keys' kernel (a = −½), edge samples repeated, clamped to [0, 1].
    func referenceBicubic(_ image: Image, _ oh: Int, _ ow: Int) -> [Float] {
        func k(_ x: Double) -> Double {
            let t = abs(x), a = -0.5
            if t <= 1 { return (a + 2) * t * t * t - (a + 3) * t * t + 1 }
            if t < 2 { return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a }
            return 0
        }
        var out: [Float] = []
        for c in 0..<image.channels {
            for i in 0..<oh {
                for j in 0..<ow {
                    let y = (Double(i) + 0.5) * Double(image.height) / Double(oh) - 0.5
                    let x = (Double(j) + 0.5) * Double(image.width) / Double(ow) - 0.5
                    let yf = y.rounded(.down), xf = x.rounded(.down)
                    var acc = 0.0
                    for dy in -1...2 {
                        for dx in -1...2 {
                            let yy = min(max(Int(yf) + dy, 0), image.height - 1), xx = min(max(Int(xf) + dx, 0), image.width - 1)
                            acc += k(Double(dy) - (y - yf)) * k(Double(dx) - (x - xf)) * Double(image[c, yy, xx])
                        }
                    }
                    out.append(Float(min(max(acc, 0), 1)))
                }
            }
        }
        return out
    }

    func testAreaShrinkMatchesDirectDefinition() {
        let image = randomImage(channels: 2, height: 23, width: 31, seed: 1)
        for (oh, ow) in [(7, 10), (23, 5), (1, 1), (11, 31), (14, 14)] {
            let fast = image.resized(height: oh, width: ow, filter: .area)
            let d = maxAbsDifference(fast.pixels, referenceArea(image, oh, ow))
            XCTAssertLessThan(d.value, 2e-6, "area \(oh)x\(ow) at \(d.index)")
        }
        // Integer factor: plain block means.
        let blocks = randomImage(channels: 1, height: 4, width: 4, seed: 2).resized(height: 2, width: 2, filter: .area)
        let src = randomImage(channels: 1, height: 4, width: 4, seed: 2)
        XCTAssertEqual(blocks[0, 0, 0], (src[0, 0, 0] + src[0, 0, 1] + src[0, 1, 0] + src[0, 1, 1]) / 4, accuracy: 1e-6)
    }

    func testBilinearAndBicubicMatchDirectDefinition() {
        let image = randomImage(channels: 3, height: 9, width: 12, seed: 4)
        for (oh, ow) in [(18, 24), (31, 17), (9, 12), (5, 30)] {
            let bl = image.resized(height: oh, width: ow, filter: .bilinear)
            let d1 = maxAbsDifference(bl.pixels, referenceBilinear(image, oh, ow))
            XCTAssertLessThan(d1.value, 2e-6, "bilinear \(oh)x\(ow) at \(d1.index)")
            let bc = image.resized(height: oh, width: ow, filter: .bicubic)
            let d2 = maxAbsDifference(bc.pixels, referenceBicubic(image, oh, ow))
            XCTAssertLessThan(d2.value, 2e-6, "bicubic \(oh)x\(ow) at \(d2.index)")
        }
    }

    func testAutomaticPicksAreaToShrinkAndBilinearToGrow() {
        let image = randomImage(channels: 1, height: 28, width: 28, seed: 5)
        XCTAssertEqual(image.resized(height: 14, width: 14), image.resized(height: 14, width: 14, filter: .area))
        XCTAssertEqual(image.resized(height: 56, width: 56), image.resized(height: 56, width: 56, filter: .bilinear))
        XCTAssertEqual(image.resized(height: 28, width: 28), image)
        // Mixed: area across rows, bilinear across columns; a constant image stays constant.
        let constant = Image(channels: 1, height: 10, width: 10, pixels: [Float](repeating: 0.375, count: 100))
        for filter in ResizeFilter.allCases {
            let r = constant.resized(height: 4, width: 17, filter: filter)
            XCTAssertLessThan(maxAbsDifference(r.pixels, [Float](repeating: 0.375, count: 68)).value, 1e-6, "\(filter)")
        }
        // Area shrinking preserves the mean exactly (up to rounding) at integer factors.
        let mean = image.pixels.reduce(0, +) / Float(image.pixels.count)
        let small = image.resized(height: 7, width: 4)
        XCTAssertEqual(small.pixels.reduce(0, +) / Float(small.pixels.count), mean, accuracy: 1e-5)
    }
}
