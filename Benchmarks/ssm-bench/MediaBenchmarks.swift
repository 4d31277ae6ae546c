// `media` suite: PNG decode images/s and video decode frames/s at 224×224, each next to the ffmpeg
// command-line tool decoding the same file to rawvideo (ratio = ours / ffmpeg). ssm produces
// Float32 (C, H, W) / (T, C, H, W) arrays; the tool writes rgb24 bytes to /dev/null. For video,
// `ssm_rgb24_bytes_only` is ssm's decode + swscale alone (the tool's work), without the Float clip.
// The tool's rate is marginal: (time for many − time for one) leaves out its process start-up.
import Foundation
import MediaIO

private func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Runs `ffmpeg args…` quietly; returns its wall time.
private func ffmpeg(_ arguments: [String]) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    let t = try seconds {
        try process.run()
        process.waitUntilExit()
    }
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "ssm-bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "ffmpeg \(arguments) failed"])
    }
    return t
}

/// The fastest of `repeats` runs (machines are shared; the minimum is the least disturbed).
private func best(_ repeats: Int = 3, _ body: () throws -> Double) rethrows -> Double {
    var t = Double.infinity
    for _ in 0..<repeats { t = min(t, try body()) }
    return t
}

private func report(_ name: String, unit: String, ours: Double, reference: Double, extra: String = "") {
    let line = String(format: "{\"suite\": \"media\", \"name\": \"%@\", \"unit\": \"%@\", \"ssm\": %.1f, \"ffmpeg_cli\": %.1f, \"ratio\": %.3f%@}",
                      name, unit, ours, reference, ours / reference, extra)
    print(line)
    fflush(stdout)
}

func runMediaBenchmarks() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ssm-bench-media-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }

    // --- PNG, 224×224: a synthetic RGB test card and an upscaled Fashion-MNIST gray image.
    let rgbPNG = folder.appendingPathComponent("card-224.png").path
    _ = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=224x224", "-frames:v", "1", "-pix_fmt", "rgb24", rgbPNG])
    var pngs = [("png_decode_224x224_rgb", rgbPNG, "rgb24")]
    let boot = "samples/images/fmnist-0-ankle-boot.png"
    if FileManager.default.fileExists(atPath: boot) {
        let grayPNG = folder.appendingPathComponent("boot-224.png").path
        try PNGFile.write(PNGFile.read(boot).resized(height: 224, width: 224, filter: .bicubic), to: grayPNG)
        pngs.append(("png_decode_224x224_gray", grayPNG, "gray"))
    }
    for (name, path, format) in pngs {
        let n = 400
        _ = try PNGFile.read(path)
        let ours = try best { try seconds { for _ in 0..<n { _ = try PNGFile.read(path) } } }
        // ffmpeg: the image demuxer re-reads and re-decodes the file each loop; the marginal time
        // per image (N images minus 1 image) leaves out process start-up.
        let one = try best { try ffmpeg(["-loop", "1", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", format, "/dev/null"]) }
        // Ten times as many images for the tool so that start-up noise stays small next to the work.
        let many = try best { try ffmpeg(["-loop", "1", "-i", path, "-frames:v", "\(10 * n + 1)", "-f", "rawvideo", "-pix_fmt", format, "/dev/null"]) }
        // The tool decodes several images at once (frame threads); ssm decodes one image per call.
        let oneThread = try best { try ffmpeg(["-threads", "1", "-loop", "1", "-i", path, "-frames:v", "\(10 * n + 1)", "-f", "rawvideo", "-pix_fmt", format, "/dev/null"]) }
        report(name, unit: "images/s", ours: Double(n) / ours, reference: Double(10 * n) / max(many - one, 1e-9),
               extra: String(format: ", \"ffmpeg_cli_threads1\": %.1f, \"count\": %d", Double(10 * n) / max(oneThread - one, 1e-9), n))
    }

    // --- Video, 224×224, 250 frames: decode to (T, 3, 224, 224) floats vs ffmpeg to rgb24 rawvideo.
    let clips: [(String, [String], String)] = [
        ("video_decode_224x224_h264", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "23"], "mp4"),
        ("video_decode_224x224_mpeg4", ["-c:v", "mpeg4", "-q:v", "4"], "avi"),
    ]
    for (name, codec, ext) in clips {
        let path = folder.appendingPathComponent("\(name).\(ext)").path
        _ = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=224x224:rate=25", "-t", "10"] + codec + [path])
        _ = try VideoFile.read(path, options: VideoDecodeOptions(maxFrames: 10))
        var frames = 0
        let ours = try best { try seconds { frames = try VideoFile.read(path).frames } }
        let one = try best { try ffmpeg(["-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "/dev/null"]) }
        // The clip eight times over (-stream_loop 7), so that start-up noise stays small.
        let all = try best { try ffmpeg(["-stream_loop", "7", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "/dev/null"]) }
        // The same decode + swscale to rgb24 bytes without the Float clip (what the CLI produces).
        let bytesOnly = try best {
            try seconds {
                let reader = try VideoReader(path: path)
                var buffer = [UInt8](repeating: 0, count: 224 * 224 * 3)
                while try reader.next() != nil { try reader.convert(width: 224, height: 224, gray: false, into: &buffer) }
            }
        }
        report(name, unit: "frames/s", ours: Double(frames) / ours, reference: Double(8 * frames - 1) / max(all - one, 1e-9),
               extra: String(format: ", \"ssm_rgb24_bytes_only\": %.1f, \"count\": %d", Double(frames) / bytesOnly, frames))
    }
}
