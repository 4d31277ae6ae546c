import Foundation
import TestSupport
import XCTest

/// `ssm train-sashimi`, `generate`, `score` and `check-recurrence`, run as a user would.
final class AudioCommandTests: XCTestCase {
    static let noModel: [String: String?] = ["SSM_MODEL": nil, "SSM_AUDIO_MODEL": nil]
    nonisolated(unsafe) static var run: URL?

    /// A tiny model trained on the sample speech (once for the class).
    func trainedRun() throws -> URL {
        if let r = Self.run { return r }
        let dir = TestSupport.temporaryDirectory("ssm-audio-cli").appendingPathComponent("run")
        let r = try SSMTool.run(["train-sashimi", "--data", "samples/audio", "--out", dir.path, "--d-model", "8", "--layers", "1",
                                 "--d-state", "8", "--pool", "2,2", "--steps", "4", "--length", "256", "--batch-size", "2",
                                 "--eval-every", "2", "--checkpoint-every", "2", "--val-fraction", "0.34", "--seed", "3"], environment: Self.noModel)
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.count, 3, r.out)
        XCTAssertEqual(lines[0]["step"] as? Int, 2)
        XCTAssertNotNil(lines[1]["val_bits_per_sample"] as? Double)
        XCTAssertEqual(lines[2]["steps"] as? Int, 4)
        for f in ["checkpoint.safetensors", "model.safetensors", "metrics.json", "run.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f)
        }
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("metrics.json"))) as! [String: Any]
        XCTAssertEqual(metrics["status"] as? String, "completed")
        XCTAssertEqual((metrics["history"] as? [Any])?.count, 2)
        Self.run = dir
        return dir
    }

    func model() throws -> String { try trainedRun().appendingPathComponent("model.safetensors").path }

    func testResumeContinuesAndRefusesChangedOptions() throws {
        let dir = try trainedRun()
        let copy = TestSupport.temporaryDirectory().appendingPathComponent("run")
        try FileManager.default.copyItem(at: dir, to: copy)
        var r = try SSMTool.run(["train-sashimi", "--data", "samples/audio", "--out", copy.path, "--resume", "--steps", "6"], environment: Self.noModel)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("resuming after step 4"), r.err)
        XCTAssertEqual(try SSMTool.objects(r.out).last?["steps"] as? Int, 6)
        r = try SSMTool.run(["train-sashimi", "--data", "samples/audio", "--out", copy.path, "--resume", "--d-model", "16"], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--d-model 16 (checkpoint: 8)"), r.err)
        r = try SSMTool.run(["train-sashimi", "--data", "samples/audio", "--out", copy.path, "--resume", "--steps", "2"], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("below the checkpoint's step"), r.err)
        r = try SSMTool.run(["train-sashimi", "--data", "samples/images", "--out", copy.path, "--resume"], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("the data differs"), r.err)
        r = try SSMTool.run(["train-sashimi", "--data", "samples/audio", "--out", copy.path], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("add --resume"), r.err)
        r = try SSMTool.run(["train-sashimi", "--data", "samples/audio", "--out", copy.path + "x", "--length", "30"], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("multiple of 16"), r.err)
    }

    func testGenerateWritesValidWAVsDeterministically() throws {
        let m = try model()
        let dir = TestSupport.temporaryDirectory()
        let a = dir.appendingPathComponent("a.wav").path, b = dir.appendingPathComponent("b.wav").path
        for path in [a, b] {
            let r = try SSMTool.run(["generate", "--model", m, "--seconds", "0.25", "--out", path, "--seed", "5"], environment: Self.noModel)
            XCTAssertEqual(r.status, 0, r.err)
            let line = try XCTUnwrap(SSMTool.objects(r.out).first)
            XCTAssertEqual(line["samples"] as? Int, 2000)
            XCTAssertNotNil(line["bits_per_sample"] as? Double)
            XCTAssertNotNil(line["mean_entropy_bits"] as? Double)
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: a))
        XCTAssertEqual(bytes.count, 44 + 2 * 2000)
        XCTAssertEqual(bytes, try Data(contentsOf: URL(fileURLWithPath: b)), "same seed, same bytes")
        XCTAssertEqual(String(decoding: bytes.prefix(4), as: UTF8.self), "RIFF")

        // A folder with the best 2 of 3, ranked, and a summary.
        let out = dir.appendingPathComponent("gen").path
        let r = try SSMTool.run(["generate", "--model", m, "--seconds", "0.1", "--count", "3", "--keep-best", "2", "--out", out], environment: Self.noModel)
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.map { $0["rank"] as? Int }, [1, 2])
        XCTAssertLessThanOrEqual(lines[0]["bits_per_sample"] as! Double, lines[1]["bits_per_sample"] as! Double)
        let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(names.filter { $0.hasSuffix(".wav") }.count, 2)
        XCTAssertTrue(names.contains("summary.json"))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        XCTAssertEqual((summary["sequences"] as? [Any])?.count, 2)
        XCTAssertEqual(summary["generated"] as? Int, 3)
    }

    func testGenerateStreamsToStandardOutput() throws {
        let m = try model()
        guard let exe = TestSupport.ssmExecutable else { throw XCTSkip("no ssm binary") }
        let r = try TestSupport.runProcess(exe, ["generate", "--model", m, "--seconds", "0.2", "--out", "-", "--seed", "5"],
                                           in: TestSupport.repositoryRoot, environment: Self.noModel)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.count, 44 + 2 * 1600)
        XCTAssertEqual(String(decoding: r.out.prefix(4), as: UTF8.self), "RIFF")
        XCTAssertEqual(Array(r.out[40..<44]), [0xFF, 0xFF, 0xFF, 0xFF], "streamed: unknown data size")
        XCTAssertTrue(r.err.contains("\"bits_per_sample\""), r.err)
        // The same sequence as a file: identical samples.
        let file = TestSupport.temporaryDirectory().appendingPathComponent("x.wav").path
        _ = try SSMTool.run(["generate", "--model", m, "--seconds", "0.2", "--out", file, "--seed", "5"], environment: Self.noModel)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)).dropFirst(44), r.out.dropFirst(44))
    }

    /// Half-precision step weights: a valid WAV, deterministic, and a different draw from the same
    /// model (its likelihood per sample close to the Float run's); an unknown precision is refused.
    func testGenerateWithHalfPrecisionWeights() throws {
        let m = try model()
        let dir = TestSupport.temporaryDirectory()
        var outputs: [Data] = []
        var bits: [Double] = []
        for (name, weights) in [("a", "f16"), ("b", "f16"), ("c", "f32")] {
            let path = dir.appendingPathComponent(name + ".wav").path
            let r = try SSMTool.run(["generate", "--model", m, "--seconds", "0.25", "--out", path, "--seed", "5", "--weights", weights], environment: Self.noModel)
            XCTAssertEqual(r.status, 0, r.err)
            bits.append(try XCTUnwrap(SSMTool.objects(r.out).first?["bits_per_sample"] as? Double))
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        XCTAssertEqual(outputs[0].count, 44 + 2 * 2000)
        XCTAssertEqual(outputs[0], outputs[1], "same seed, same bytes")
        XCTAssertTrue(bits.allSatisfy { $0.isFinite && $0 > 0 }, "\(bits)")
        let r = try SSMTool.run(["generate", "--model", m, "--out", "-", "--weights", "f8"], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--weights") && r.err.contains("f8"), r.err)
    }

    func testGenerateRejectsBadRequestsAndModels() throws {
        let m = try model()
        let dir = TestSupport.temporaryDirectory()
        var r = try SSMTool.run(["generate", "--model", m, "--count", "2", "--out", dir.appendingPathComponent("x.wav").path], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("takes one sequence"), r.err)
        r = try SSMTool.run(["generate", "--model", m, "--top-p", "0", "--out", "-"], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--top-p"), r.err)
        // Truncated, foreign and missing model files: clear errors, no output file.
        let truncated = dir.appendingPathComponent("t.safetensors")
        try Data(contentsOf: URL(fileURLWithPath: m)).prefix(200).write(to: truncated)
        let out = dir.appendingPathComponent("y.wav").path
        for (model, expected) in [(truncated.path, "t.safetensors"), ("models/fashion-mnist-s4nd.safetensors", "not a SaShiMi audio model"),
                                  (dir.path, "is a folder"), ("/nonexistent.safetensors", "no such model file")] {
            r = try SSMTool.run(["generate", "--model", model, "--out", out], environment: Self.noModel)
            XCTAssertNotEqual(r.status, 0, model)
            XCTAssertTrue(r.err.contains(expected), "\(model): \(r.err)")
            XCTAssertFalse(r.err.contains("DecodingError"), r.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        r = try SSMTool.run(["generate", "--out", out], environment: ["SSM_AUDIO_MODEL": "/nonexistent.safetensors"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("/nonexistent.safetensors: no such model file (named by $SSM_AUDIO_MODEL)"), r.err)
    }

    func testScoreReportsEachFileAndBadOnes() throws {
        let m = try model()
        let dir = TestSupport.temporaryDirectory()
        let broken = dir.appendingPathComponent("broken.wav").path
        try Data("RIFF not really".utf8).write(to: URL(fileURLWithPath: broken))
        let r = try SSMTool.run(["score", "samples/audio/speech-hello-22k.wav", broken, "--model", m, "--summary",
                                 "--baseline-data", "samples/audio"], environment: Self.noModel)
        XCTAssertEqual(r.status, 1, "a bad file makes the exit status 1")
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.count, 3)
        let bits = try XCTUnwrap(lines[0]["bits_per_sample"] as? Double)
        XCTAssertTrue(bits > 0 && bits < 12, "\(bits)")
        XCTAssertEqual(lines[1]["file"] as? String, broken)
        XCTAssertNotNil(lines[1]["error"] as? String)
        XCTAssertEqual(lines[2]["files"] as? Int, 1)
        XCTAssertNotNil(lines[2]["unigram_bits_per_sample"] as? Double)
        XCTAssertNotNil(lines[2]["trigram_bits_per_sample"] as? Double)
    }

    func testCheckRecurrenceReportsSmallDifferences() throws {
        let m = try model()
        let r = try SSMTool.run(["check-recurrence", "--model", m, "--length", "512"], environment: Self.noModel)
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.filter { ($0["layer"] as? String)?.hasPrefix("c_layers") == true }.count, 2)
        let logits = try XCTUnwrap(lines.first { $0["layer"] as? String == "logits" })
        XCTAssertLessThan(logits["max_abs_diff"] as! Double, 1e-3)
        XCTAssertEqual(logits["argmax_agreement"] as? Double ?? 0, 1, accuracy: 0.01)
    }

    func testSpectrogramWritesAPNGAndRejectsBadAudio() throws {
        let dir = TestSupport.temporaryDirectory()
        let png = dir.appendingPathComponent("s.png").path
        var r = try SSMTool.run(["spectrogram", "samples/audio/speech-hello-22k.wav", "--out", png, "--rate", "8000"])
        XCTAssertEqual(r.status, 0, r.err)
        let line = try XCTUnwrap(SSMTool.objects(r.out).first)
        XCTAssertEqual(line["height"] as? Int, 129)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: png)).prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        let broken = dir.appendingPathComponent("b.wav").path
        try Data("RIFF....WAVE".utf8).write(to: URL(fileURLWithPath: broken))
        let out = dir.appendingPathComponent("b.png").path
        r = try SSMTool.run(["spectrogram", broken, "--out", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("b.wav"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// A tiny audio classifier on two "classes" of the sample speech, then classify and audio-metrics.
    func testAudioClassifierCommands() throws {
        let dir = TestSupport.temporaryDirectory()
        let data = dir.appendingPathComponent("data")
        for (cls, file) in [("hello", "speech-hello-22k.wav"), ("digits", "speech-digits-16k.wav")] {
            try FileManager.default.createDirectory(at: data.appendingPathComponent(cls), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: TestSupport.samplesDirectory.appendingPathComponent("audio/" + file),
                                             to: data.appendingPathComponent("\(cls)/\(file)"))
        }
        let model = dir.appendingPathComponent("c.safetensors").path
        var r = try SSMTool.run(["train-audio-classifier", "--data", data.path, "--val", data.path, "--out", model, "--epochs", "2",
                                 "--batch-size", "2", "--length", "1024", "--d-model", "8"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try SSMTool.objects(r.out).count, 2)
        r = try SSMTool.run(["classify", data.appendingPathComponent("hello/speech-hello-22k.wav").path, "--audio-classifier", model, "--top-k", "2"])
        XCTAssertEqual(r.status, 0, r.err)
        let line = try XCTUnwrap(SSMTool.objects(r.out).first)
        XCTAssertTrue(["hello", "digits"].contains(line["label"] as? String ?? ""), "\(line)")
        XCTAssertEqual((line["top_k"] as? [Any])?.count, 2)
        r = try SSMTool.run(["audio-metrics", data.path, "--labelled", "--classifier", model])
        XCTAssertEqual(r.status, 0, r.err)
        let m = try XCTUnwrap(SSMTool.objects(r.out).first)
        XCTAssertEqual(m["files"] as? Int, 2)
        let score = try XCTUnwrap(m["inception_score"] as? Double)
        XCTAssertTrue(score >= 1 && score <= 2, "\(score)")
        XCTAssertNotNil(m["accuracy"] as? Double)
        r = try SSMTool.run(["audio-metrics", data.path, "--classifier", "models/fashion-mnist-s4nd.safetensors"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("not an audio classifier"), r.err)
    }

    /// Right after set-up: the shipped models generate and classify with no options.
    func testShippedAudioModelsWorkWithoutOptions() throws {
        let out = TestSupport.temporaryDirectory().appendingPathComponent("x.wav").path
        var r = try SSMTool.run(["generate", "--seconds", "0.05", "--out", out], environment: Self.noModel.merging(["SSM_AUDIO_CLASSIFIER": nil]) { a, _ in a })
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)).count, 44 + 2 * 400)
        r = try SSMTool.run(["classify", "samples/audio/speech-digits-16k.wav"], environment: ["SSM_AUDIO_CLASSIFIER": nil])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertNotNil(try SSMTool.objects(r.out).first?["label"] as? String)
    }

    func testBadDataAndInputsAreClearErrors() throws {
        let dir = TestSupport.temporaryDirectory()
        var r = try SSMTool.run(["train-sashimi", "--data", "samples/images", "--out", dir.appendingPathComponent("r").path], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("no readable audio files"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("r/checkpoint.safetensors").path))
        let broken = dir.appendingPathComponent("x.wav").path
        try Data().write(to: URL(fileURLWithPath: broken))
        r = try SSMTool.run(["check-recurrence", "--model", try model(), "--input", broken, "--length", "64"], environment: Self.noModel)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("x.wav"), r.err)
        let one = dir.appendingPathComponent("one/only")
        try FileManager.default.createDirectory(at: one, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestSupport.samplesDirectory.appendingPathComponent("audio/speech-hello-22k.wav"), to: one.appendingPathComponent("a.wav"))
        r = try SSMTool.run(["train-audio-classifier", "--data", dir.appendingPathComponent("one").path, "--out", dir.appendingPathComponent("c.safetensors").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("at least 2"), r.err)
    }

    func testPromptsWithTheSameNameGetDistinctOutputs() throws {
        let m = try model()
        let dir = TestSupport.temporaryDirectory()
        for sub in ["a", "b"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("p/\(sub)"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: TestSupport.samplesDirectory.appendingPathComponent("audio/speech-hello-22k.wav"),
                                             to: dir.appendingPathComponent("p/\(sub)/x.wav"))
        }
        let out = dir.appendingPathComponent("gen").path
        let r = try SSMTool.run(["generate", "--model", m, "--prompt", dir.appendingPathComponent("p").path, "--prompt-seconds", "0.01",
                                 "--seconds", "0.02", "--count", "2", "--out", out], environment: Self.noModel)
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(Set(lines.compactMap { $0["file"] as? String }).count, 4, "\(lines)")
        XCTAssertEqual(lines.first?["samples"] as? Int, 80 + 160)
    }
}
