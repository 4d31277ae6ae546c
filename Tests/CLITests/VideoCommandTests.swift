import Foundation
import TestSupport
import XCTest

/// Video end to end: render motion clips, encode them with ffmpeg, train a tiny 3-D model, evaluate
/// at other frame counts, classify a video and an image in one call, extract frames.
final class VideoCommandTests: XCTestCase {
    func testVideoModelTrainsEvaluatesAndClassifies() throws {
        guard let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("ffmpeg not installed")
        }
        let root = TestSupport.temporaryDirectory("ssm-video")
        var g = SyntheticIDX.Generator(state: 4)
        let items = (0..<(8 * 36)).map { _ in UInt8(g.int(256)) }
        let idx = root.appendingPathComponent("items.idx")
        try SyntheticIDX.idx([8, 6, 6], items).write(to: idx)
        let raw = root.appendingPathComponent("raw").path
        var r = try SSMTool.run(["dataset", "render-motion", idx.path, "--out", raw, "--clips", "16", "--frames", "12", "--size", "12"])
        XCTAssertEqual(r.status, 0, r.err)
        let data = root.appendingPathComponent("clips")
        for c in ["down", "left", "right", "up"] {
            try FileManager.default.createDirectory(at: data.appendingPathComponent(c), withIntermediateDirectories: true)
            for f in try FileManager.default.contentsOfDirectory(atPath: raw + "/" + c) {
                let out = data.appendingPathComponent("\(c)/\((f as NSString).deletingPathExtension).mkv").path
                let e = try TestSupport.runProcess(URL(fileURLWithPath: ffmpeg), ["-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray",
                                                                                  "-s", "12x12", "-r", "8", "-i", raw + "/" + c + "/" + f, "-c:v", "ffv1", out])
                XCTAssertEqual(e.status, 0, e.err)
            }
        }
        let run = root.appendingPathComponent("run").path
        r = try SSMTool.run(["train-classifier", "--data", data.path, "--out", run, "--frames", "6", "--size", "12",
                             "--d-model", "4", "--layers", "1", "--d-state", "4", "--epochs", "1", "--val-fraction", "0"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("16 training, 0 validation clips, 4 classes, 6x12x12"), r.err)
        let model = run + "/model.safetensors"

        // Evaluate at the training frames and, zero-shot, at twice the frames and half the size.
        r = try SSMTool.run(["evaluate", "--data", data.path, "--model", model, "--frames", "6", "12", "--size", "12", "6"])
        XCTAssertEqual(r.status, 0, r.err)
        let rows = try SSMTool.objects(r.out)
        XCTAssertEqual(rows.map { $0["size"] as? [Int] }, [[6, 12, 12], [6, 6, 6], [12, 12, 12], [12, 6, 6]])
        XCTAssertEqual(rows.map { $0["frames"] as? Int }, [6, 6, 12, 12])
        XCTAssertTrue(rows.allSatisfy { $0["count"] as? Int == 16 })
        r = try SSMTool.run(["evaluate", "--data", data.path, "--model", model, "--format", "table"])
        XCTAssertTrue(r.out.contains("| frames | size | accuracy |") && r.out.contains("| 6 (train) | 12×12 (train) |"), r.out)

        // One call routes by content: the clip to the video model, the image to the image model.
        let clip = data.appendingPathComponent("left/00001.mkv").path
        let image = "samples/images/fmnist-0-ankle-boot.png"
        r = try SSMTool.run(["classify", "--video-model", model, clip, image, "--top-k", "4"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.map { $0["file"] as? String }, [clip, image])
        XCTAssertEqual(lines[0]["size"] as? [Int], [6, 12, 12]); XCTAssertEqual(lines[0]["frames"] as? Int, 6)
        XCTAssertEqual((lines[0]["top_k"] as? [[String: Any]])?.count, 4)
        XCTAssertEqual(lines[1]["size"] as? [Int], [28, 28]); XCTAssertNil(lines[1]["frames"])
        r = try SSMTool.run(["classify", "--video-model", model, clip, "--frames", "3", "--size", "8"])
        XCTAssertEqual(try SSMTool.objects(r.out).first?["size"] as? [Int], [3, 8, 8], r.err)
        // An image model named as the video model is refused.
        r = try SSMTool.run(["classify", "--video-model", "models/fashion-mnist-s4nd.safetensors", clip])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("is an image model"), r.err)
        r = try SSMTool.run(["evaluate", "--data", data.path, "--frames", "4"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--frames applies to video models"), r.err)

        // Frames for a single-frame baseline.
        let frames = root.appendingPathComponent("frames").path
        r = try SSMTool.run(["dataset", "extract-frames", data.path, "--out", frames, "--frames", "2"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try SSMTool.objects(r.out).first?["images"] as? Int, 32)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: frames + "/left").count, 8)
    }

    /// The dataset commands refuse empty, malformed and oversized inputs with the reason, and leave no partial output.
    func testDatasetCommandsRefuseBadInputs() throws {
        let root = TestSupport.temporaryDirectory("ssm-video-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        let empty = root.appendingPathComponent("empty.idx"), flat = root.appendingPathComponent("flat.idx")
        try Data().write(to: empty)
        try SyntheticIDX.idx([4, 6, 5], [UInt8](repeating: 9, count: 120)).write(to: flat)
        let out = root.appendingPathComponent("raw").path
        for (idx, message) in [(empty.path, "empty"), (flat.path, "expected square IDX images"), (root.appendingPathComponent("none.idx").path, "no such file")] {
            let r = try SSMTool.run(["dataset", "render-motion", idx, "--out", out, "--clips", "4"])
            XCTAssertNotEqual(r.status, 0, idx)
            XCTAssertTrue(r.err.contains(message), "\(idx): \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no partial output")
        }
        var r = try SSMTool.run(["dataset", "render-motion", flat.path, "--out", out, "--clips", "6"])
        XCTAssertTrue(r.err.contains("--clips must be a positive multiple of 4"), r.err)
        r = try SSMTool.run(["dataset", "render-motion", flat.path, "--out", out, "--frames", "100000"])
        XCTAssertTrue(r.err.contains("--frames must be in 1…1024"), r.err)

        // extract-frames: a damaged clip is skipped and listed (exit 1), the good one written; all damaged: nothing written.
        let videos = root.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: videos.appendingPathComponent("a"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "samples/video/gradients-ffv1.mkv", toPath: videos.appendingPathComponent("a/good.mkv").path)
        let clip = try Data(contentsOf: URL(fileURLWithPath: "samples/video/gradients-ffv1.mkv"))
        try clip.prefix(clip.count / 3).write(to: videos.appendingPathComponent("a/cut.mkv"))
        let frames = root.appendingPathComponent("frames").path
        r = try SSMTool.run(["dataset", "extract-frames", videos.path, "--out", frames, "--frames", "2"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("skipped 1 unreadable video") && r.err.contains("cut.mkv"), r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: frames + "/a").sorted(), ["good-0.png", "good-1.png"])
        try FileManager.default.removeItem(at: videos.appendingPathComponent("a/good.mkv"))
        r = try SSMTool.run(["dataset", "extract-frames", videos.path, "--out", root.appendingPathComponent("frames2").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("no video could be read; nothing written"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("frames2").path))
    }
}
