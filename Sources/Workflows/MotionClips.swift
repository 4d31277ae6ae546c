import Foundation
import MediaIO
import SSMCore

/// Short clips whose class is a motion: an item (e.g. a Fashion-MNIST image) sliding across a
/// square canvas that wraps around at the edges (a torus), in one of four directions.
///
/// Because the canvas wraps, every frame shows the item at a uniformly random place whatever the
/// direction, so no single frame tells the class; only the change between frames does.
public enum MotionClips {
    /// Class names in label order, and the unit step of each (dy, dx) in canvas rows/columns.
    public static let classes = ["down", "left", "right", "up"]
    static let directions: [(Double, Double)] = [(1, 0), (0, -1), (0, 1), (-1, 0)]

    /// One clip's recipe.
    public struct Motion: Equatable, Sendable {
        public var direction: Int
        /// Pixels per frame on the canvas.
        public var speed: Double
        /// Item's top-left corner at frame 0 (canvas pixels, may be fractional).
        public var start: (y: Double, x: Double)
        public static func == (a: Motion, b: Motion) -> Bool {
            a.direction == b.direction && a.speed == b.speed && a.start.y == b.start.y && a.start.x == b.start.x
        }
    }

    /// A seeded motion: direction `direction`, speed uniform in `speeds`, start uniform on the canvas.
    public static func motion(direction: Int, canvas: Int, speeds: ClosedRange<Double>, rng: inout SeededRNG) -> Motion {
        func u() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        let speed = speeds.lowerBound + (speeds.upperBound - speeds.lowerBound) * u()
        let y = u() * Double(canvas), x = u() * Double(canvas)
        return Motion(direction: direction, speed: speed, start: (y, x))
    }

    /// Renders `frames` frames of `item` (`side × side` bytes, row-major) moving by `motion` on a
    /// `canvas × canvas` torus: bilinear sampling at sub-pixel positions, zero background.
    /// Returns `frames × canvas × canvas` bytes, frame-major.
    public static func render(item: [UInt8], side: Int, motion: Motion, canvas: Int, frames: Int) -> [UInt8] {
        precondition(item.count == side * side && canvas >= side && frames >= 1)
        let (dy, dx) = directions[motion.direction]
        var out = [UInt8](repeating: 0, count: frames * canvas * canvas)
        func itemValue(_ r: Int, _ c: Int) -> Double {
            r >= 0 && r < side && c >= 0 && c < side ? Double(item[r * side + c]) : 0
        }
        for t in 0..<frames {
            let py = motion.start.y + dy * motion.speed * Double(t)
            let px = motion.start.x + dx * motion.speed * Double(t)
            for y in 0..<canvas {
                // Position in item coordinates, wrapped onto [0, canvas).
                var v = (Double(y) - py).truncatingRemainder(dividingBy: Double(canvas))
                if v < 0 { v += Double(canvas) }
                let r0 = Int(v.rounded(.down)), fy = v - Double(r0)
                // Rows just before the item's top (v near canvas) blend in its first row.
                let r = r0 >= canvas - 1 ? r0 - canvas : r0
                for x in 0..<canvas {
                    var w = (Double(x) - px).truncatingRemainder(dividingBy: Double(canvas))
                    if w < 0 { w += Double(canvas) }
                    let c0 = Int(w.rounded(.down)), fx = w - Double(c0)
                    let c = c0 >= canvas - 1 ? c0 - canvas : c0
                    let value = (1 - fy) * ((1 - fx) * itemValue(r, c) + fx * itemValue(r, c + 1))
                        + fy * ((1 - fx) * itemValue(r + 1, c) + fx * itemValue(r + 1, c + 1))
                    out[(t * canvas + y) * canvas + x] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }
        return out
    }
}
