import Foundation
import MediaIO
import TestSupport
import XCTest

/// `ssm batch` over a mixed corpus with bad files: a line per file, nothing partial, resumable
/// after SIGKILL, shards that partition the list and merge to the single-process result.
final class BatchCommandTests: XCTestCase {
    /// Good images, a video, a short audio clip, and bad copies; a hidden file and a folder loop.
    func corpus() throws -> (root: URL, good: [String], bad: [String]) {
        let root = TestSupport.temporaryDirectory("ssm-batch").appendingPathComponent("corpus")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("media/more"), withIntermediateDirectories: true)
        var good: [String] = [], bad: [String] = []
        for name in ["fmnist-0-ankle-boot.png", "fmnist-1-pullover.png", "fmnist-18-bag-42x42-palette.png", "fmnist-2-trouser-56x56-rgb.png"] {
            let dest = root.appendingPathComponent("images/\(name)")
            try fm.copyItem(atPath: "samples/images/" + name, toPath: dest.path)
            good.append(dest.path)
        }
        let video = root.appendingPathComponent("media/gradients.mkv")
        try fm.copyItem(atPath: "samples/video/gradients-ffv1.mkv", toPath: video.path)
        good.append(video.path)
        let wav = root.appendingPathComponent("media/more/tone.wav")
        let tone = (0..<800).map { Float(0.5 * sin(Double($0) * 0.3)) }
        try AudioFile.write(AudioBuffer(sampleRate: 8000, channels: 1, frames: tone.count, samples: tone), to: wav.path)
        good.append(wav.path)
        // Bad: truncated PNG, empty file, text, truncated video.
        let png = try Data(contentsOf: URL(fileURLWithPath: "samples/images/fmnist-6-coat.png"))
        try png.prefix(png.count / 2).write(to: root.appendingPathComponent("images/truncated.png"))
        try Data().write(to: root.appendingPathComponent("images/empty.png"))
        try Data("not media\n".utf8).write(to: root.appendingPathComponent("media/notes.txt"))
        let mkv = try Data(contentsOf: video)
        try mkv.prefix(mkv.count / 3).write(to: root.appendingPathComponent("media/cut.mkv"))
        bad = ["images/empty.png", "images/truncated.png", "media/cut.mkv", "media/notes.txt"].map { root.appendingPathComponent($0).path }
        try Data("x".utf8).write(to: root.appendingPathComponent("images/.hidden.png"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("media/more/loop").path, withDestinationPath: root.path)
        return (root, good, bad)
    }

    func lines(_ out: URL) throws -> [[String: Any]] {
        try SSMTool.objects(String(decoding: try Data(contentsOf: out.appendingPathComponent("results.jsonl")), as: UTF8.self))
    }

    func testBatchReportsEveryFileResumesShardsAndMerges() throws {
        let (root, good, bad) = try corpus()
        let work = root.deletingLastPathComponent()
        let outA = work.appendingPathComponent("out-a")
        var r = try SSMTool.run(["batch", root.path, "--out", outA.path, "--continue", "0.01"])
        XCTAssertEqual(r.status, 1, "bad files make the exit status 1: \(r.err)")
        XCTAssertTrue(r.err.contains("skipped 1 hidden file(s)"), r.err)
        var a = try lines(outA)
        XCTAssertEqual(a.map { $0["file"] as! String }, (good + bad).sorted(), "one line per real file, sorted, the loop not followed")
        for l in a {
            let file = l["file"] as! String
            if bad.contains(file) {
                XCTAssertNotNil(l["error"], file); XCTAssertNil(l["kind"], file)
            } else {
                XCTAssertNil(l["error"], "\(file): \(l["error"] ?? "")")
                XCTAssertNotNil(l["bytes"]); XCTAssertNotNil(l["mtime"])
            }
        }
        let byFile = Dictionary(uniqueKeysWithValues: a.map { ($0["file"] as! String, $0) })
        XCTAssertEqual(byFile[good[0]]?["kind"] as? String, "image"); XCTAssertEqual(byFile[good[0]]?["label"] as? String, "ankle-boot")
        XCTAssertEqual(byFile[good[4]]?["kind"] as? String, "video"); XCTAssertNotNil(byFile[good[4]]?["frames"])
        XCTAssertEqual(byFile[good[5]]?["kind"] as? String, "audio")
        XCTAssertGreaterThan(byFile[good[5]]?["bits_per_sample"] as? Double ?? 0, 0)
        let continuation = try XCTUnwrap(byFile[good[5]]?["continuation"] as? String)
        let wav = try AudioFile.read(outA.appendingPathComponent(continuation).path)
        XCTAssertGreaterThan(wav.frames, 800, "the file followed by generated samples")
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: outA.path).allSatisfy { !$0.contains("partial") })
        XCTAssertEqual((byFile[bad[3]]?["error"] as? String)?.hasPrefix("unsupported"), true, "\(byFile[bad[3]] ?? [:])")

        // A rerun skips everything and keeps the same lines (and the same exit status).
        r = try SSMTool.run(["batch", root.path, "--out", outA.path, "--continue", "0.01"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("10 already done, 0 to do"), r.err)
        XCTAssertEqual(try lines(outA).count, a.count)

        // A changed file is done again, its old line replaced; a cut-off last line is dropped.
        let results = outA.appendingPathComponent("results.jsonl")
        let handle = try FileHandle(forWritingTo: results)
        handle.seekToEndOfFile(); handle.write(Data("{\"file\": \"half".utf8)); try handle.close()
        try Data("still not media, longer\n".utf8).write(to: URL(fileURLWithPath: bad[3]))
        r = try SSMTool.run(["batch", root.path, "--out", outA.path, "--continue", "0.01"])
        XCTAssertTrue(r.err.contains("9 already done, 1 to do"), r.err)
        a = try lines(outA)
        XCTAssertEqual(a.count, 10)
        XCTAssertEqual(a.filter { ($0["file"] as! String) == bad[3] }.count, 1)

        // An output folder inside the corpus is not part of it.
        let inside = root.appendingPathComponent("media/out")
        r = try SSMTool.run(["batch", root.path, "--out", inside.path])
        XCTAssertTrue(r.err.contains("10 file(s) in shard 0 of 1"), r.err)
        r = try SSMTool.run(["batch", root.path, "--out", inside.path])
        XCTAssertTrue(r.err.contains("10 file(s) in shard 0 of 1; 10 already done"), r.err)
        try FileManager.default.removeItem(at: inside)

        // Three shards partition the list and merge to the single-process result.
        var shardFiles: [[String]] = []
        for i in 0..<3 {
            let o = work.appendingPathComponent("shard-\(i)")
            r = try SSMTool.run(["batch", root.path, "--out", o.path, "--continue", "0.01"],
                                environment: ["SLURM_ARRAY_TASK_ID": "\(i + 1)", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"])
            XCTAssertTrue(r.err.contains("in shard \(i) of 3"), r.err)
            shardFiles.append(try lines(o).map { $0["file"] as! String })
        }
        XCTAssertEqual(shardFiles.flatMap { $0 }.sorted(), a.map { $0["file"] as! String })
        XCTAssertEqual(Set(shardFiles.flatMap { $0 }).count, 10, "no file in two shards")
        let merged = work.appendingPathComponent("merged")
        r = try SSMTool.run(["batch", "--merge"] + (0..<3).map { work.appendingPathComponent("shard-\($0)").path } + ["--out", merged.path])
        XCTAssertEqual(r.status, 1, r.err)
        let single = work.appendingPathComponent("single")
        _ = try SSMTool.run(["batch", root.path, "--out", single.path, "--continue", "0.01"])
        let mergedLines = try String(contentsOf: merged.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
        let singleLines = try String(contentsOf: single.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(mergedLines.count, 10)
        XCTAssertEqual(singleLines.count, 10)
        // Identical but for the last bits of the audio scores, whose parallel sums are not ordered.
        for (m, s) in zip(try SSMTool.objects(mergedLines.joined(separator: "\n")), try SSMTool.objects(singleLines.joined(separator: "\n"))) {
            XCTAssertEqual(Set(m.keys), Set(s.keys))
            for (k, v) in m {
                if let x = v as? Double, let y = s[k] as? Double, !(v is Int) {
                    XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y)), "\(m["file"]!) \(k)")
                } else if v is [Any] || v is [String: Any] {
                    let a = try JSONSerialization.data(withJSONObject: v, options: .sortedKeys)
                    let b = try JSONSerialization.data(withJSONObject: s[k]!, options: .sortedKeys)
                    XCTAssertEqual(String(decoding: a, as: UTF8.self), String(decoding: b, as: UTF8.self), "\(m["file"]!) \(k)")
                } else {
                    XCTAssertEqual("\(v)", "\(s[k]!)", "\(m["file"]!) \(k)")
                }
            }
        }
        XCTAssertEqual(try Data(contentsOf: merged.appendingPathComponent(continuation)), try Data(contentsOf: single.appendingPathComponent(continuation)),
                       "the continuation's seed comes from the file's path")
        // Kubernetes: the index needs the shard count.
        r = try SSMTool.run(["batch", root.path, "--out", work.appendingPathComponent("k8s").path], environment: ["JOB_COMPLETION_INDEX": "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("give --num-shards"), r.err)
    }

    /// Killed with SIGKILL mid-run, then run again: the same results as an uninterrupted run.
    func testBatchKilledMidRunResumesToTheSameResults() throws {
        guard let ssm = TestSupport.ssmExecutable else { throw XCTSkip("ssm binary not built") }
        let work = TestSupport.temporaryDirectory("ssm-batch-kill")
        let corpus = work.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        let images = try FileManager.default.contentsOfDirectory(atPath: "samples/images").filter { $0.hasSuffix(".png") }.sorted()
        for k in 0..<4 { for name in images {
            try FileManager.default.copyItem(atPath: "samples/images/" + name, toPath: corpus.appendingPathComponent("\(k)-\(name)").path)
        } }
        let total = 4 * images.count
        let killed = work.appendingPathComponent("killed"), whole = work.appendingPathComponent("whole")
        let p = Process()
        p.executableURL = ssm
        p.arguments = ["batch", corpus.path, "--out", killed.path]
        p.currentDirectoryURL = TestSupport.repositoryRoot
        p.standardError = FileHandle.nullDevice; p.standardOutput = FileHandle.nullDevice
        try p.run()
        let results = killed.appendingPathComponent("results.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let n = ((try? Data(contentsOf: results)) ?? Data()).filter { $0 == UInt8(ascii: "\n") }.count
            if n >= 3 { break }
            usleep(2000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = ((try? Data(contentsOf: results)) ?? Data()).filter { $0 == UInt8(ascii: "\n") }.count
        XCTAssertLessThan(before, total, "the run was stopped before the end")
        var r = try SSMTool.run(["batch", corpus.path, "--out", killed.path])
        XCTAssertEqual(r.status, 0, r.err)
        r = try SSMTool.run(["batch", corpus.path, "--out", whole.path])
        XCTAssertEqual(r.status, 0, r.err)
        let a = try String(contentsOf: results, encoding: .utf8), b = try String(contentsOf: whole.appendingPathComponent("results.jsonl"), encoding: .utf8)
        XCTAssertEqual(a.split(separator: "\n").count, total)
        XCTAssertEqual(a, b)
    }
}
