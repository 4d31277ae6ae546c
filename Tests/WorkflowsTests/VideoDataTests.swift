import Foundation
import XCTest
import MediaIO
import S4ND
import SSMCore
import TestSupport
@testable import Workflows

final class VideoDataTests: XCTestCase {
    func testFrameSamplingCoversTheClip() {
        let s = FrameSampling(source: 32, frames: 16)
        XCTAssertEqual(s.stride, 2); XCTAssertEqual(s.span, 31); XCTAssertEqual(s.maxOffset, 1); XCTAssertEqual(s.centredOffset, 0)
        XCTAssertEqual(s.indices(offset: 1), Array(stride(from: 1, to: 32, by: 2)))
        let q = FrameSampling(source: 32, frames: 8)
        XCTAssertEqual(q.stride, 4); XCTAssertEqual(q.maxOffset, 3); XCTAssertEqual(q.centredOffset, 1)
        XCTAssertEqual(q.indices(offset: 1), [1, 5, 9, 13, 17, 21, 25, 29])
        XCTAssertEqual(FrameSampling(source: 32, frames: 32).indices(offset: 0), Array(0..<32))
        XCTAssertEqual(FrameSampling(source: 3, frames: 5).indices(offset: 0), [0, 1, 2, 2, 2])
    }

    func testBatchTakesEvenlySpacedFramesAtThePhase() {
        // 2 clips, 2 channels, 8 stored frames of 1×2 pixels: value = 1000·clip + 100·channel + frame.
        var data: [Float] = []
        for n in 0..<2 { for c in 0..<2 { for t in 0..<8 { for _ in 0..<2 { data.append(Float(1000 * n + 100 * c + t)) } } } }
        let d = ImageDataset(images: data, labels: [0, 1], channels: 2, spatial: [8, 1, 2], clipFrames: 4,
                             classNames: ["a", "b"], files: ["x", "y"])
        XCTAssertEqual(d.itemSize, [4, 1, 2])
        let (centred, labels) = d.batch([1, 0])
        XCTAssertEqual(centred.shape, [2, 2, 4, 1, 2]); XCTAssertEqual(labels, [1, 0])
        // stride 2, span 7, offsets 0…1, centred 0
        XCTAssertEqual(Array(centred.data[0..<8]), [1000, 1000, 1002, 1002, 1004, 1004, 1006, 1006])
        XCTAssertEqual(Array(centred.data[8..<16]), [1100, 1100, 1102, 1102, 1104, 1104, 1106, 1106])
        let (shifted, _) = d.batch([0], phase: { 1 })
        XCTAssertEqual(Array(shifted.data[0..<8]), [1, 1, 3, 3, 5, 5, 7, 7])
    }

    func testMotionFramesShiftByTheSpeedAndWrap() {
        let side = 4, canvas = 10
        let item = (0..<(side * side)).map { UInt8(10 + $0) }
        for direction in 0..<4 {
            let m = MotionClips.Motion(direction: direction, speed: 1, start: (7, 8))   // starts across both edges
            let frames = MotionClips.render(item: item, side: side, motion: m, canvas: canvas, frames: 3)
            let plane = canvas * canvas
            XCTAssertEqual(frames[0..<plane].filter { $0 > 0 }.count, side * side, "the whole item is on the canvas (wrapped)")
            let (dy, dx) = [(1, 0), (0, -1), (0, 1), (-1, 0)][direction]
            for t in 1..<3 { for y in 0..<canvas { for x in 0..<canvas {
                let py = ((y - dy * t) % canvas + canvas) % canvas, px = ((x - dx * t) % canvas + canvas) % canvas
                XCTAssertEqual(frames[t * plane + y * canvas + x], frames[py * canvas + px], "direction \(direction), frame \(t) at (\(y), \(x))")
            } } }
            XCTAssertEqual(frames[7 * canvas + 8], 10, "item's first pixel at the start")
        }
    }

    /// Video folders encoded by ffmpeg load as clips of the requested frames and size.
    func testVideoFolderLoadsClips() throws {
        guard let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("ffmpeg not installed")
        }
        let root = TestSupport.temporaryDirectory()
        var rng = SeededRNG(seed: 3)
        let item = (0..<16).map { UInt8(60 + 10 * $0) }
        for (k, (cls, ext)) in [("left", "mkv"), ("left", "mp4"), ("up", "webm"), ("up", "gif")].enumerated() {
            let m = MotionClips.motion(direction: cls == "left" ? 1 : 3, canvas: 16, speeds: 1...1, rng: &rng)
            let raw = root.appendingPathComponent("\(k).gray")
            try Data(MotionClips.render(item: item, side: 4, motion: m, canvas: 16, frames: 12)).write(to: raw)
            try FileManager.default.createDirectory(at: root.appendingPathComponent(cls), withIntermediateDirectories: true)
            let out = root.appendingPathComponent("\(cls)/\(k).\(ext)").path
            var args = ["-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "16x16", "-r", "8", "-i", raw.path]
            args += ext == "mkv" ? ["-c:v", "ffv1"] : ext == "mp4" ? ["-c:v", "libx264", "-pix_fmt", "yuv420p"] : ext == "webm" ? ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p"] : []
            let r = try TestSupport.runProcess(URL(fileURLWithPath: ffmpeg), args + [out])
            XCTAssertEqual(r.status, 0, r.err)
            try FileManager.default.removeItem(at: raw)
        }
        XCTAssertEqual(try ImageFolder.detectKind(root.path), .video)
        let (d, skipped) = try ImageFolder.load(root.path, size: [6, 8, 8], mode: .gray, storedFrames: 12)
        XCTAssertEqual(skipped.count, 0, "\(skipped)")
        XCTAssertEqual(d.count, 4); XCTAssertEqual(d.classNames, ["left", "up"]); XCTAssertEqual(d.labels, [0, 0, 1, 1])
        XCTAssertEqual(d.spatial, [12, 8, 8]); XCTAssertEqual(d.itemSize, [6, 8, 8])
        XCTAssertTrue(d.images.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
        // Asking for more frames than a clip has skips it with the reason.
        XCTAssertThrowsError(try ImageFolder.load(root.path, size: [20, 8, 8], mode: .gray)) { e in
            XCTAssertTrue("\(e)".contains("none of the 4 files could be read") && "\(e)".contains("12 frame(s); 20 are needed"), "\(e)")
        }
    }
}
