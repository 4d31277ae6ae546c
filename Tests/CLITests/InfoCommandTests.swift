import Foundation
import TestSupport
import XCTest


final class InfoCommandTests: XCTestCase {
    func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(line)")
        }
    }

    func sampleFiles() -> [String] {
        ["images", "audio", "video"].flatMap { kind -> [String] in
            let folder = TestSupport.samplesDirectory.appendingPathComponent(kind)
            return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted().map { "samples/\(kind)/\($0)" }
        }
    }

    func testInfoReportsEverySample() throws {
        let files = sampleFiles()
        XCTAssertGreaterThanOrEqual(files.count, 18)
        let result = try SSMTool.run(["info"] + files)
        XCTAssertEqual(result.status, 0, result.err)
        let lines = try objects(result.out)
        XCTAssertEqual(lines.map { $0["file"] as? String }, files)
        for line in lines {
            let file = line["file"] as! String
            XCTAssertNil(line["error"], file)
            let kind = line["kind"] as? String
            XCTAssertEqual(kind, file.contains("/images/") ? "image" : file.contains("/audio/") ? "audio" : "video", file)
            XCTAssertNotNil(line["codec"] as? String, file)
            XCTAssertNotNil(line["channels"] as? Int, file)
        }
        let boot = try XCTUnwrap(lines.first { ($0["file"] as! String).hasSuffix("fmnist-0-ankle-boot.png") })
        XCTAssertEqual(boot["width"] as? Int, 28)
        XCTAssertEqual(boot["height"] as? Int, 28)
        XCTAssertEqual(boot["channels"] as? Int, 1)
        XCTAssertEqual(boot["codec"] as? String, "png")
        let speech = try XCTUnwrap(lines.first { ($0["file"] as! String).hasSuffix("speech-digits-16k.wav") })
        XCTAssertEqual(speech["sample_rate"] as? Int, 16000)
        XCTAssertEqual(speech["codec"] as? String, "pcm_s16le")
        let frames = try XCTUnwrap(speech["frames"] as? Int)
        XCTAssertEqual(try XCTUnwrap(speech["duration_s"] as? Double), Double(frames) / 16000, accuracy: 1e-6)
        let video = try XCTUnwrap(lines.first { ($0["file"] as! String).hasSuffix("testsrc-h264.mp4") })
        XCTAssertEqual(video["codec"] as? String, "h264")
        XCTAssertEqual(video["width"] as? Int, 160)
        XCTAssertEqual(video["height"] as? Int, 120)
        XCTAssertEqual(video["frames"] as? Int, 50)
        XCTAssertEqual(video["fps"] as? Double, 25)
        XCTAssertEqual(try XCTUnwrap(video["duration_s"] as? Double), 2, accuracy: 1e-6)
    }

    func testFailuresAreReportedAndExitNonZero() throws {
        let folder = TestSupport.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.png").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let text = folder.appendingPathComponent("notes.wav").path
        try Data("just \"quoted\" text\n".utf8).write(to: URL(fileURLWithPath: text))
        let png = try Data(contentsOf: TestSupport.samplesDirectory.appendingPathComponent("images/fmnist-1-pullover.png"))
        let cut = folder.appendingPathComponent("cut.png").path
        try png.prefix(30).write(to: URL(fileURLWithPath: cut))
        let halfPNG = folder.appendingPathComponent("half.png").path
        try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: halfPNG))
        let wav = try Data(contentsOf: TestSupport.samplesDirectory.appendingPathComponent("audio/speech-hello-22k.wav"))
        let halfWAV = folder.appendingPathComponent("half.wav").path
        try wav.prefix(wav.count / 2).write(to: URL(fileURLWithPath: halfWAV))
        let mp4 = try Data(contentsOf: TestSupport.samplesDirectory.appendingPathComponent("video/testsrc-h264.mp4"))
        let halfMP4 = folder.appendingPathComponent("half.mp4").path
        try mp4.prefix(mp4.count / 2).write(to: URL(fileURLWithPath: halfMP4))
        let missing = folder.appendingPathComponent("missing.mp4").path
        let good = "samples/images/fmnist-1-pullover.png"

        let result = try SSMTool.run(["info", missing, good, empty, text, cut])
        XCTAssertEqual(result.status, 1)
        let lines = try objects(result.out)
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines.map { $0["file"] as? String }, [missing, good, empty, text, cut])
        XCTAssertEqual(lines[1]["kind"] as? String, "image")
        XCTAssertNil(lines[1]["error"])
        let errors = lines.map { $0["error"] as? String }
        XCTAssertTrue(errors[0]?.hasPrefix("missing") ?? false, "\(errors[0] ?? "nil")")
        XCTAssertTrue(errors[2]?.hasPrefix("empty") ?? false, "\(errors[2] ?? "nil")")
        XCTAssertTrue(errors[3]?.hasPrefix("unsupported") ?? false, "\(errors[3] ?? "nil")")
        XCTAssertTrue(errors[4]?.hasPrefix("truncated") ?? false, "\(errors[4] ?? "nil")")
        for k in [0, 2, 3, 4] { XCTAssertEqual(lines[k].count, 2, "only file and error: \(lines[k])") }

        // Damage past the header: images and audio are decoded in full.
        let damaged = try SSMTool.run(["info", halfPNG, halfWAV, halfMP4, good])
        XCTAssertEqual(damaged.status, 1)
        let damagedLines = try objects(damaged.out)
        XCTAssertEqual(damagedLines.count, 4)
        XCTAssertTrue((damagedLines[0]["error"] as? String)?.hasPrefix("truncated") ?? false, "\(damagedLines[0])")
        XCTAssertTrue((damagedLines[1]["error"] as? String)?.hasPrefix("truncated") ?? false, "\(damagedLines[1])")
        XCTAssertTrue((damagedLines[2]["error"] as? String)?.hasPrefix("truncated") ?? false, "\(damagedLines[2])")
        XCTAssertNil(damagedLines[3]["error"])

        let ok = try SSMTool.run(["info", good])
        XCTAssertEqual(ok.status, 0)
        let none = try SSMTool.run(["info"])
        XCTAssertNotEqual(none.status, 0)
    }

    /// A full disk on standard output is a failure with a message, not exit 0.
    func testWriteErrorsOnStandardOutputFail() throws {
        guard let ssm = TestSupport.ssmExecutable else { throw XCTSkip("ssm binary not found") }
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let sample = TestSupport.samplesDirectory.appendingPathComponent("images").path
        for arguments in [["info", sample], ["inspect", "--kernels"], ["classify", sample, "--format", "csv"]] {
            let process = Process()
            process.executableURL = ssm
            process.arguments = arguments
            process.currentDirectoryURL = TestSupport.repositoryRoot
            let err = Pipe()
            process.standardOutput = full
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 1, arguments.joined(separator: " "))
            XCTAssertTrue(message.contains("cannot write to standard output: No space left on device"), "\(arguments): \(message)")
        }
    }

    /// Damage inside the video stream is found by --decode (the demuxer alone sees nothing wrong);
    /// a JPEG is an image, not a one-frame video.
    func testDecodeFindsDamagedVideo() throws {
        let dir = TestSupport.temporaryDirectory("info-decode")
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "samples/video/testsrc-h264.mp4"))
        for i in 8000..<12000 { bytes[i] = 0 }   // a run of zeros inside the H.264 stream
        let damaged = dir.appendingPathComponent("damaged.mp4").path
        try bytes.write(to: URL(fileURLWithPath: damaged))
        var r = try SSMTool.run(["info", damaged])
        XCTAssertEqual(r.status, 0, "headers and packets are intact: \(r.out)")
        r = try SSMTool.run(["info", "--decode", damaged])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(try SSMTool.objects(r.out)[0]["error"] as? String, "corrupt: the decoder rejected 11 packet(s)", r.out)
        r = try SSMTool.run(["info", "--decode", "samples/video/moving-up-vp9.webm", "samples/images/fmnist-0-ankle-boot.jpg"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines[0]["decoded_frames"] as? Int, 32)
        XCTAssertEqual(lines[1]["kind"] as? String, "image")
        XCTAssertEqual(lines[1]["codec"] as? String, "mjpeg")
    }

    /// libmpg123's notes about a damaged MP3 do not reach standard error; the file gets a typed error.
    func testDecoderLogLinesDoNotLeak() throws {
        guard let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("ffmpeg not installed")
        }
        let dir = TestSupport.temporaryDirectory("mp3-quiet")
        defer { try? FileManager.default.removeItem(at: dir) }
        let mp3 = dir.appendingPathComponent("speech.mp3")
        let e = try TestSupport.runProcess(URL(fileURLWithPath: ffmpeg), ["-v", "error", "-i", "samples/audio/speech-digits-16k.wav", mp3.path],
                                           in: TestSupport.repositoryRoot)
        guard e.status == 0 else { throw XCTSkip("ffmpeg has no MP3 encoder: \(e.err)") }
        var bytes = try Data(contentsOf: mp3)
        var g = SyntheticIDX.Generator(state: 3)
        for _ in 0..<200 { bytes[200 + g.int(bytes.count - 200)] = UInt8(g.int(256)) }
        let damaged = dir.appendingPathComponent("damaged.mp3")
        try bytes.write(to: damaged)
        let r = try SSMTool.run(["info", damaged.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertNotNil(try SSMTool.objects(r.out).first?["error"])
        XCTAssertFalse(r.err.contains("Note:") || r.err.contains("libmpg123") || r.err.contains("resync"), r.err)
    }

    /// An MP4 with H.264 video and AAC audio lists both streams.
    func testEveryStreamOfAContainerIsListed() throws {
        guard let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("ffmpeg not installed")
        }
        let dir = TestSupport.temporaryDirectory("info-streams")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("av.mp4").path
        let e = try TestSupport.runProcess(URL(fileURLWithPath: ffmpeg), ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10",
                                           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "1", "-c:v", "libx264",
                                           "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", file])
        XCTAssertEqual(e.status, 0, e.err)
        let r = try SSMTool.run(["info", file])
        XCTAssertEqual(r.status, 0, r.err)
        let streams = try XCTUnwrap(try SSMTool.objects(r.out).first?["streams"] as? [[String: Any]])
        XCTAssertEqual(streams.map { $0["type"] as? String }, ["video", "audio"])
        XCTAssertEqual(streams.map { $0["codec"] as? String }, ["h264", "aac"])
        XCTAssertEqual(streams[0]["width"] as? Int, 64); XCTAssertEqual(streams[0]["height"] as? Int, 48)
        XCTAssertEqual(streams[1]["sample_rate"] as? Int, 44100); XCTAssertEqual(streams[1]["channels"] as? Int, 2)
    }

    /// An output that cannot be written (a folder where nothing may be created) is a failure in plain words.
    func testUnwritableOutputsAreReportedPlainly() throws {
        guard FileManager.default.fileExists(atPath: "/sys/kernel") else { throw XCTSkip("no /sys") }
        for args in [["spectrogram", "samples/audio/speech-digits-16k.wav", "--out", "/sys/ssm-test.png"],
                     ["batch", "samples/images", "--out", "/sys/ssm-test-out"],
                     ["dataset", "extract-frames", "samples", "--out", "/sys/ssm-test-frames"]] {
            let r = try SSMTool.run(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.err.contains("/sys/ssm-test") && (r.err.contains("permission denied") || r.err.contains("read-only file system")), "\(args): \(r.err)")
            XCTAssertFalse(r.err.contains("The operation could not be completed") || r.err.contains("Domain="), r.err)
        }
    }

    func testVersionAndHelpExamples() throws {
        let v = try SSMTool.run(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.out.hasPrefix("0.5.0"), v.out)
        for command in ["info", "inspect", "train-classifier", "train-sashimi", "generate", "classify", "evaluate", "batch", "dataset render-motion", "dataset extract-frames"] {
            let h = try SSMTool.run(command.split(separator: " ").map(String.init) + ["--help"])
            XCTAssertEqual(h.status, 0, command)
            XCTAssertTrue(h.out.contains("Examples:"), "\(command) --help has no examples")
        }
    }
}
