import Foundation
import MediaIO
import TestSupport
import XCTest

final class VideoTests: XCTestCase {
    /// Every sample video decodes to the same rgb24 (and gray) frames as `ffmpeg -f rawvideo`,
    /// to within 1 LSB, with the same frame count.
    func testSamplesMatchFFmpegRawvideo() throws {
        let files = Tools.sampleFiles("video")
        XCTAssertGreaterThanOrEqual(files.count, 2)
        for path in files {
            for gray in [false, true] {
                let clip = try VideoFile.read(path, options: VideoDecodeOptions(gray: gray))
                let raw = try Tools.ffmpeg(path, ["-f", "rawvideo", "-pix_fmt", gray ? "gray" : "rgb24"])
                let c = gray ? 1 : 3
                let frameBytes = clip.width * clip.height * c
                XCTAssertEqual(raw.count, clip.frames * frameBytes, "\(path): frame count \(clip.frames)")
                XCTAssertEqual(clip.shape, [raw.count / frameBytes, c, clip.height, clip.width])
                var worst = 0
                let plane = clip.width * clip.height
                for t in 0..<min(clip.frames, raw.count / frameBytes) {
                    for i in 0..<plane {
                        for ch in 0..<c {
                            let ours = Int((clip.pixels[(t * c + ch) * plane + i] * 255).rounded())
                            worst = max(worst, abs(ours - Int(raw[t * frameBytes + i * c + ch])))
                        }
                    }
                }
                print("video parity \((path as NSString).lastPathComponent) \(gray ? "gray" : "rgb24"): \(clip.frames) frames, max |diff| = \(worst) LSB")
                XCTAssertLessThanOrEqual(worst, 1, "\(path) gray \(gray): max difference \(worst) LSB")
            }
            let info = try VideoFile.info(path)
            let clip = try VideoFile.read(path)
            XCTAssertEqual(info.frames, clip.frames, path)
            XCTAssertEqual(info.width, clip.width)
        }
    }

    /// Clips in other codecs and containers, made by the ffmpeg tool, decode like the ffmpeg tool.
    func testOtherCodecsMatchFFmpeg() throws {
        let folder = TestSupport.temporaryDirectory("codecs")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(file: String, args: [String], codec: String)] = [
            ("hevc.mp4", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none", "-pix_fmt", "yuv420p"], "hevc"),
            ("av1.mkv", ["-c:v", "libsvtav1", "-preset", "12", "-pix_fmt", "yuv420p"], "av1"),
            ("mjpeg.avi", ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"], "mjpeg"),
            ("clip.gif", [], "gif"),
            ("vp9.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"], "vp9"),
        ]
        for c in cases {
            let path = folder.appendingPathComponent(c.file).path
            _ = try Tools.run("ffmpeg", ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10",
                                         "-frames:v", "8"] + c.args + [path])
            let info = try VideoFile.info(path)
            XCTAssertTrue(info.codec.contains(c.codec), "\(c.file): codec \(info.codec)")
            XCTAssertEqual([info.width, info.height], [64, 64], c.file)
            let clip = try VideoFile.read(path)
            XCTAssertEqual(info.frames, clip.frames, c.file)
            let raw = try Tools.ffmpeg(path, ["-f", "rawvideo", "-pix_fmt", "rgb24"])
            XCTAssertEqual(raw.count, clip.frames * 64 * 64 * 3, "\(c.file): \(clip.frames) frames")
            var worst = 0
            for t in 0..<min(clip.frames, raw.count / (64 * 64 * 3)) {
                for i in 0..<(64 * 64) {
                    for ch in 0..<3 {
                        let ours = Int((clip.pixels[(t * 3 + ch) * 64 * 64 + i] * 255).rounded())
                        worst = max(worst, abs(ours - Int(raw[(t * 64 * 64 + i) * 3 + ch])))
                    }
                }
            }
            print("video parity \(c.file) (\(info.codec)): \(clip.frames) frames, max |diff| = \(worst) LSB")
            XCTAssertLessThanOrEqual(worst, 1, "\(c.file): max difference \(worst) LSB")
        }
    }

    /// Frames kept at a width that is no multiple of 16 decode like the ffmpeg tool. (swscale's
    /// vector code writes past the end of such rows; the conversion goes through a padded buffer,
    /// so nothing is written past the clip's own.)
    func testUnscaledOddWidthsMatchFFmpeg() throws {
        let folder = TestSupport.temporaryDirectory("odd-widths")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (width, height) in [(28, 20), (30, 18), (50, 26)] {
            let path = folder.appendingPathComponent("\(width)x\(height).mp4").path
            _ = try Tools.run("ffmpeg", ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height):rate=10",
                                         "-frames:v", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", path])
            for gray in [false, true] {
                let clip = try VideoFile.read(path, options: VideoDecodeOptions(gray: gray))
                let raw = try Tools.ffmpeg(path, ["-f", "rawvideo", "-pix_fmt", gray ? "gray" : "rgb24"])
                let c = gray ? 1 : 3, plane = width * height
                XCTAssertEqual(clip.shape, [4, c, height, width])
                XCTAssertEqual(raw.count, 4 * c * plane)
                var worst = 0
                for t in 0..<4 {
                    for i in 0..<plane {
                        for ch in 0..<c {
                            let ours = Int((clip.pixels[(t * c + ch) * plane + i] * 255).rounded())
                            worst = max(worst, abs(ours - Int(raw[(t * plane + i) * c + ch])))
                        }
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1, "\(width)x\(height) gray \(gray): \(worst) LSB")
            }
        }
    }

    /// Scaled output equals ffmpeg's scale filter with bicubic flags to within 1 LSB.
    func testScaledOutputMatchesFFmpegScale() throws {
        let path = Tools.samples.appendingPathComponent("video/testsrc-h264.mp4").path
        let clip = try VideoFile.read(path, options: VideoDecodeOptions(maxFrames: 5, width: 64, height: 48))
        XCTAssertEqual(clip.shape, [5, 3, 48, 64])
        let raw = try Tools.ffmpeg(path, ["-frames:v", "5", "-vf", "scale=64:48:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24"])
        XCTAssertEqual(raw.count, 5 * 48 * 64 * 3)
        var worst = 0
        for t in 0..<5 {
            for i in 0..<(48 * 64) {
                for c in 0..<3 {
                    let ours = Int((clip.pixels[(t * 3 + c) * 48 * 64 + i] * 255).rounded())
                    worst = max(worst, abs(ours - Int(raw[(t * 48 * 64 + i) * 3 + c])))
                }
            }
        }
        XCTAssertLessThanOrEqual(worst, 1, "max difference \(worst) LSB")
    }

    func testFrameSelection() throws {
        let path = Tools.samples.appendingPathComponent("video/testsrc-h264.mp4").path  // 50 frames at 25 fps
        let all = try VideoFile.read(path)
        XCTAssertEqual(all.frames, 50)
        let first = try VideoFile.read(path, options: VideoDecodeOptions(maxFrames: 7))
        XCTAssertEqual(first.frames, 7)
        XCTAssertEqual(first.pixels, Array(all.pixels[0..<(7 * 3 * 120 * 160)]))
        let strided = try VideoFile.read(path, options: VideoDecodeOptions(stride: 4))
        XCTAssertEqual(strided.frames, 13)
        XCTAssertEqual(strided.frame(2), all.frame(8))
        let fps5 = try VideoFile.read(path, options: VideoDecodeOptions(targetFPS: 5))
        XCTAssertEqual(fps5.frames, 10)
        XCTAssertEqual(fps5.frame(3), all.frame(15))
        for (k, time) in fps5.timestamps.enumerated() { XCTAssertEqual(time, Double(k) * 0.2, accuracy: 1e-6) }
        let gray = try VideoFile.read(path, options: VideoDecodeOptions(maxFrames: 2, width: 32, height: 32, gray: true))
        XCTAssertEqual(gray.shape, [2, 1, 32, 32])
    }

    func testBadInputsGiveTypedErrors() throws {
        let folder = TestSupport.temporaryDirectory("video-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.mp4").path
        assertMediaError(try VideoFile.read(missing), file: missing, reasons: ["missing"])
        let empty = folder.appendingPathComponent("empty.mp4").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        assertMediaError(try VideoFile.read(empty), file: empty, reasons: ["empty"])
        let text = folder.appendingPathComponent("text.mp4").path
        try Data("this is not a video, only some words of text in a file".utf8).write(to: URL(fileURLWithPath: text))
        assertMediaError(try VideoFile.read(text), file: text, reasons: ["unsupported"])

        for name in ["testsrc-h264.mp4", "mandelbrot-mpeg4.avi", "gradients-ffv1.mkv"] {
            let data = try Data(contentsOf: Tools.samples.appendingPathComponent("video/\(name)"))
            let cut = folder.appendingPathComponent("cut-\(name)").path
            try data.prefix(data.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
            assertMediaError(try VideoFile.read(cut), file: cut, reasons: ["truncated", "corrupt"])
        }
        // Garbage over the middle of an ffv1 stream: the decoder rejects packets.
        var data = try Data(contentsOf: Tools.samples.appendingPathComponent("video/gradients-ffv1.mkv"))
        for i in stride(from: data.count / 3, to: data.count / 3 + 4000, by: 1) { data[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        let corrupt = folder.appendingPathComponent("corrupt.mkv").path
        try data.write(to: URL(fileURLWithPath: corrupt))
        assertMediaError(try VideoFile.read(corrupt), file: corrupt, reasons: ["corrupt", "truncated"])

        let path = Tools.samples.appendingPathComponent("video/testsrc-h264.mp4").path
        var limits = MediaLimits.default
        limits.maxFramePixels = 100 * 100
        assertMediaError(try VideoFile.read(path, limits: limits), file: path, reasons: ["too_large"])
        limits = .default
        limits.maxVideoFrames = 20
        assertMediaError(try VideoFile.read(path, limits: limits), file: path, reasons: ["too_large"])
        XCTAssertEqual(try VideoFile.read(path, options: VideoDecodeOptions(maxFrames: 20), limits: limits).frames, 20)
        assertMediaError(try VideoFile.read(path, options: VideoDecodeOptions(width: 0, height: 10)), file: path,
                         reasons: ["invalid_argument"])
        assertMediaError(try VideoFile.read(path, options: VideoDecodeOptions(maxFrames: 0)), file: path,
                         reasons: ["invalid_argument"])
        let reader = try VideoReader(path: path)
        XCTAssertNotNil(try reader.next())
        var small = [UInt8](repeating: 0, count: 10)
        assertMediaError(try reader.convert(width: 16, height: 16, gray: false, into: &small), file: path,
                         reasons: ["invalid_argument"])
        var enough = [UInt8](repeating: 0, count: 16 * 16 * 3)
        XCTAssertNoThrow(try reader.convert(width: 16, height: 16, gray: false, into: &enough))
        XCTAssertGreaterThan(enough.max()!, 0)
    }

    /// Damaged MP4 boxes: a file FFmpeg recognises by content but cannot open is "corrupt" (not
    /// "unsupported"), and an entry count that makes the demuxer run out of memory is "corrupt" too.
    func testDamagedContainerIsCorruptNotUnsupported() throws {
        let dir = TestSupport.temporaryDirectory("mp4-boxes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try Data(contentsOf: URL(fileURLWithPath: "samples/video/testsrc-h264.mp4"))
        for (box, skip) in [("stsz", 8), ("stsc", 4), ("stco", 4)] {
            var d = original
            let at = try XCTUnwrap(d.range(of: Data(box.utf8))).lowerBound + 4 + 4 + (skip - 4)
            d.replaceSubrange(at..<(at + 4), with: [0x3f, 0xff, 0xff, 0xff])
            let path = dir.appendingPathComponent("\(box).mp4").path
            try d.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try MediaProbe.probe(path), box) { e in
                guard let m = e as? MediaError, case .corrupt = m.reason else { return XCTFail("\(box): \(e)") }
                XCTAssertTrue("\(m)".contains(path), "\(m)")
            }
        }
    }
}
