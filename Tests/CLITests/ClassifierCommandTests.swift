import Foundation
import MediaIO
import SSMCore
import TestSupport
import XCTest

/// Runs the built `ssm` executable for the classifier command tests.
enum SSMTool {
    /// (exit status, stdout, stderr) of `ssm arguments…`, run in the repository root with
    /// `environment` added (a nil value removes the variable).
    static func run(_ arguments: [String], environment: [String: String?] = [:]) throws -> (status: Int32, out: String, err: String) {
        try TestSupport.runSSM(arguments, environment: environment)
    }

    /// Each stdout line parsed as a JSON object.
    static func objects(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { l in
            let object = try JSONSerialization.jsonObject(with: Data(l.utf8))
            return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(l)", file: file, line: line)
        }
    }
}

/// Synthetic image data written as IDX files (the format `ssm dataset import-idx` reads).
enum SyntheticIDX {
    /// A small deterministic generator (SplitMix64).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    /// IDX bytes: magic (0, 0, 0x08, rank), big-endian extents, then the bytes.
    static func idx(_ shape: [Int], _ bytes: [UInt8]) -> Data {
        var d = Data([0, 0, 0x08, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)]) }
        d.append(contentsOf: bytes)
        return d
    }

    /// Label 0: stripes (period 2–4, horizontal, vertical or diagonal, random phase);
    /// label 1: one or two small smooth Gaussian blobs. Alternating labels, `count` images of `h × w`.
    static func stripesAndBlobs(count: Int, height h: Int, width w: Int, seed: UInt64) -> (images: [UInt8], labels: [UInt8]) {
        var g = Generator(state: seed)
        var images: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<count {
            let label = i % 2
            labels.append(UInt8(label))
            var img = [Double](repeating: 0, count: h * w)
            if label == 0 {
                let period = 2 + g.int(3), phase = g.int(period), orientation = g.int(3)
                for y in 0..<h { for x in 0..<w {
                    let t = orientation == 0 ? y : orientation == 1 ? x : x + y
                    img[y * w + x] = (t + phase) % period < (period + 1) / 2 ? 1 : 0
                } }
            } else {
                for _ in 0..<(1 + g.int(2)) {
                    let cy = g.unit() * Double(h), cx = g.unit() * Double(w)
                    let sigma = Double(min(h, w)) * (0.08 + 0.07 * g.unit())
                    for y in 0..<h { for x in 0..<w {
                        let r2 = (Double(y) - cy) * (Double(y) - cy) + (Double(x) - cx) * (Double(x) - cx)
                        img[y * w + x] = max(img[y * w + x], Foundation.exp(-r2 / (2 * sigma * sigma)))
                    } }
                }
            }
            images += img.map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
        }
        return (images, labels)
    }

    /// Writes `images.idx` and `labels.idx` into `dir`; returns their paths.
    static func write(count: Int, height: Int, width: Int, seed: UInt64, to dir: URL) throws -> (String, String) {
        let (images, labels) = stripesAndBlobs(count: count, height: height, width: width, seed: seed)
        let i = dir.appendingPathComponent("images-\(height)x\(width).idx"), l = dir.appendingPathComponent("labels-\(height)x\(width).idx")
        try idx([count, height, width], images).write(to: i)
        try idx([count], labels).write(to: l)
        return (i.path, l.path)
    }
}

/// End-to-end runs of `ssm dataset import-idx`, `train-classifier`, `evaluate` and `classify`.
final class ClassifierCommandTests: XCTestCase {
    /// One small trained run shared by the tests (made once per test run).
    struct Fixture {
        var root: URL
        var data: String          // ImageFolder, 16x16, classes blobs/stripes
        var odd: String           // ImageFolder, 12x20
        var run: URL              // trained run folder
        var trainOutput: String   // stdout of train-classifier
    }

    nonisolated(unsafe) static var fixture: Result<Fixture, Error>?

    static func makeFixture() throws -> Fixture {
        let root = TestSupport.temporaryDirectory("ssm-cli-classifier")
        let (images, labels) = try SyntheticIDX.write(count: 64, height: 16, width: 16, seed: 11, to: root)
        let data = root.appendingPathComponent("data").path
        let imported = try SSMTool.run(["dataset", "import-idx", images, labels, "--out", data, "--class-names", "stripes,blobs"])
        guard imported.status == 0 else { throw CommandFailure(what: "import-idx", result: imported) }
        let (oddImages, oddLabels) = try SyntheticIDX.write(count: 4, height: 12, width: 20, seed: 5, to: root)
        let odd = root.appendingPathComponent("odd").path
        let importedOdd = try SSMTool.run(["dataset", "import-idx", oddImages, oddLabels, "--out", odd, "--class-names", "stripes,blobs"])
        guard importedOdd.status == 0 else { throw CommandFailure(what: "import-idx", result: importedOdd) }
        let run = root.appendingPathComponent("run")
        let trained = try SSMTool.run(["train-classifier", "--data", data, "--out", run.path, "--size", "16",
                                       "--d-model", "8", "--layers", "1", "--d-state", "8", "--epochs", "2",
                                       "--batch-size", "4", "--lr", "0.02", "--ssm-lr", "0.005", "--val-fraction", "0.25",
                                       "--seed", "3"])
        guard trained.status == 0 else { throw CommandFailure(what: "train-classifier", result: trained) }
        return Fixture(root: root, data: data, odd: odd, run: run, trainOutput: trained.out)
    }

    struct CommandFailure: Error, CustomStringConvertible {
        var what: String
        var result: (status: Int32, out: String, err: String)
        var description: String { "\(what) exited \(result.status): \(result.err)\(result.out)" }
    }

    func trainedRun() throws -> Fixture {
        if Self.fixture == nil { Self.fixture = Result { try Self.makeFixture() } }
        return try Self.fixture!.get()
    }

    override class func tearDown() {
        if case .success(let f)? = fixture { try? FileManager.default.removeItem(at: f.root) }
        fixture = nil
        super.tearDown()
    }

    var model: String { get throws { try trainedRun().run.appendingPathComponent("model.safetensors").path } }

    // MARK: dataset import-idx

    func testImportIDXWritesAnImageFolderAndSummary() throws {
        let dir = TestSupport.temporaryDirectory("ssm-cli-idx")
        defer { try? FileManager.default.removeItem(at: dir) }
        // 7 images of 5x6, labels 2,0,1,2,0,1,2.
        let labels: [UInt8] = [2, 0, 1, 2, 0, 1, 2]
        let pixels = (0..<(7 * 5 * 6)).map { UInt8($0 % 256) }
        let imagesURL = dir.appendingPathComponent("img.idx"), labelsURL = dir.appendingPathComponent("lab.idx")
        try SyntheticIDX.idx([7, 5, 6], pixels).write(to: imagesURL)
        try SyntheticIDX.idx([7], labels).write(to: labelsURL)
        let out = dir.appendingPathComponent("folder").path
        let r = try SSMTool.run(["dataset", "import-idx", imagesURL.path, labelsURL.path, "--out", out, "--class-names", "a,b,c"])
        XCTAssertEqual(r.status, 0, r.err)
        let summary = try XCTUnwrap(SSMTool.objects(r.out).last)
        XCTAssertEqual(summary["images"] as? Int, 7)
        XCTAssertEqual(summary["height"] as? Int, 5)
        XCTAssertEqual(summary["width"] as? Int, 6)
        XCTAssertEqual(summary["classes"] as? [String], ["a", "b", "c"])
        XCTAssertEqual(summary["per_class"] as? [String: Int], ["a": 2, "b": 2, "c": 3])
        let files = try ["a", "b", "c"].map { try FileManager.default.contentsOfDirectory(atPath: out + "/" + $0).sorted() }
        XCTAssertEqual(files, [["1.png", "4.png"], ["2.png", "5.png"], ["0.png", "3.png", "6.png"]])
        // The PNGs decode with the IDX geometry.
        let info = try SSMTool.objects(SSMTool.run(["info", out + "/c/6.png"]).out)
        XCTAssertEqual(info.first?["width"] as? Int, 6)
        XCTAssertEqual(info.first?["height"] as? Int, 5)
        XCTAssertEqual(info.first?["channels"] as? Int, 1)
        // Nothing but the class folders next to the output (no staging leftovers).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["folder", "img.idx", "lab.idx"])

        // --limit keeps the first images; default names are the label numbers.
        let limited = dir.appendingPathComponent("limited").path
        let l = try SSMTool.run(["dataset", "import-idx", imagesURL.path, labelsURL.path, "--out", limited, "--limit", "3"])
        XCTAssertEqual(l.status, 0, l.err)
        let ls = try XCTUnwrap(SSMTool.objects(l.out).last)
        XCTAssertEqual(ls["images"] as? Int, 3)
        XCTAssertEqual(ls["per_class"] as? [String: Int], ["0": 1, "1": 1, "2": 1])

        // An existing non-empty output folder is refused.
        let again = try SSMTool.run(["dataset", "import-idx", imagesURL.path, labelsURL.path, "--out", out])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.err.contains(out) && again.err.contains("not empty"), again.err)
    }

    func testImportIDXErrorsNameTheFileAndLeaveNoOutput() throws {
        let dir = TestSupport.temporaryDirectory("ssm-cli-idx-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let imagesURL = dir.appendingPathComponent("img.idx"), labelsURL = dir.appendingPathComponent("lab.idx")
        try SyntheticIDX.idx([3, 4, 4], [UInt8](repeating: 9, count: 48)).write(to: imagesURL)
        try SyntheticIDX.idx([2], [0, 1]).write(to: labelsURL)
        let out = dir.appendingPathComponent("out").path
        let mismatch = try SSMTool.run(["dataset", "import-idx", imagesURL.path, labelsURL.path, "--out", out])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.err.contains(labelsURL.path) && mismatch.err.contains("3 images"), mismatch.err)
        XCTAssertEqual(mismatch.out, "")

        // Label 1 but only one class name.
        try SyntheticIDX.idx([3], [0, 1, 0]).write(to: labelsURL)
        let names = try SSMTool.run(["dataset", "import-idx", imagesURL.path, labelsURL.path, "--out", out, "--class-names", "only"])
        XCTAssertNotEqual(names.status, 0)
        XCTAssertTrue(names.err.contains("label 1 has no class name"), names.err)

        // Truncated image file.
        try Data(SyntheticIDX.idx([3, 4, 4], [UInt8](repeating: 9, count: 48)).prefix(30)).write(to: imagesURL)
        let truncated = try SSMTool.run(["dataset", "import-idx", imagesURL.path, labelsURL.path, "--out", out])
        XCTAssertNotEqual(truncated.status, 0)
        XCTAssertTrue(truncated.err.contains(imagesURL.path), truncated.err)

        let missing = try SSMTool.run(["dataset", "import-idx", dir.appendingPathComponent("nope.gz").path, labelsURL.path, "--out", out])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("nope.gz: no such file"), missing.err)

        let both = try SSMTool.run(["dataset", "import-idx", imagesURL.path, labelsURL.path, "--out", out, "--fashion-mnist", "--class-names", "a,b"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.err.contains("not both"), both.err)

        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["img.idx", "lab.idx"],
                       "failed imports must leave no output")
    }

    func testImportFashionMNISTWithLimit() throws {
        let base = "/usr/share/datasets/fashion-mnist/"
        let images = base + "t10k-images-idx3-ubyte.gz", labels = base + "t10k-labels-idx1-ubyte.gz"
        guard FileManager.default.fileExists(atPath: images), FileManager.default.fileExists(atPath: labels) else {
            throw XCTSkip("Debian's dataset-fashion-mnist is not installed")
        }
        let dir = TestSupport.temporaryDirectory("ssm-cli-fmnist")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("test").path
        let r = try SSMTool.run(["dataset", "import-idx", images, labels, "--out", out, "--fashion-mnist", "--limit", "50"])
        XCTAssertEqual(r.status, 0, r.err)
        let s = try XCTUnwrap(SSMTool.objects(r.out).last)
        XCTAssertEqual(s["images"] as? Int, 50)
        XCTAssertEqual(s["height"] as? Int, 28)
        XCTAssertEqual(s["width"] as? Int, 28)
        XCTAssertEqual((s["classes"] as? [String])?.count, 10)
        XCTAssertEqual((s["per_class"] as? [String: Int])?.values.reduce(0, +), 50)
        // The first test image of Fashion-MNIST is an ankle boot.
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/ankle-boot/00.png"))
        let total = try ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
            .map { try FileManager.default.contentsOfDirectory(atPath: out + "/" + $0).count }.reduce(0, +)
        XCTAssertEqual(total, 50)

        // Only the classes present get a folder (the first two test images: ankle boot, pullover).
        let two = dir.appendingPathComponent("two").path
        let r2 = try SSMTool.run(["dataset", "import-idx", images, labels, "--out", two, "--fashion-mnist", "--limit", "2"])
        XCTAssertEqual(r2.status, 0, r2.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: two).sorted(), ["ankle-boot", "pullover"])
        let long = String(repeating: "x", count: 300)
        let r3 = try SSMTool.run(["dataset", "import-idx", images, labels, "--out", dir.appendingPathComponent("long").path,
                                  "--class-names", (0..<10).map { $0 == 3 ? long : "c\($0)" }.joined(separator: ",")])
        XCTAssertNotEqual(r3.status, 0)
        XCTAssertTrue(r3.err.contains("is 300 bytes long; a folder name holds at most 255"), r3.err)
    }

    // MARK: train-classifier

    func testTrainClassifierWritesRunFilesAndLearns() throws {
        let f = try trainedRun()
        for name in ["checkpoint.safetensors", "model.safetensors", "metrics.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: f.run.appendingPathComponent(name).path), name)
        }
        let lines = try SSMTool.objects(f.trainOutput)
        XCTAssertEqual(lines.count, 3, f.trainOutput)
        XCTAssertEqual(lines.prefix(2).map { $0["epoch"] as? Int }, [1, 2])
        for l in lines.prefix(2) {
            XCTAssertNotNil(l["train_loss"] as? Double)
            XCTAssertNotNil(l["val_accuracy"] as? Double)
            XCTAssertGreaterThan(l["images_per_s"] as? Double ?? 0, 0)
        }
        let final = try XCTUnwrap(lines.last)
        XCTAssertEqual(final["epochs"] as? Int, 2)
        XCTAssertEqual(final["steps"] as? Int, 2 * 12)   // 48 training images in batches of 4
        XCTAssertEqual(final["model"] as? String, f.run.appendingPathComponent("model.safetensors").path)

        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: f.run.appendingPathComponent("metrics.json"))) as? [String: Any])
        XCTAssertEqual((metrics["history"] as? [Any])?.count, 2)
        XCTAssertEqual(metrics["train_images"] as? Int, 48)
        XCTAssertEqual(metrics["val_images"] as? Int, 16)
        let config = try XCTUnwrap(metrics["config"] as? [String: Any])
        XCTAssertEqual(config["class_names"] as? [String], ["blobs", "stripes"])
        XCTAssertEqual(config["train_size"] as? [Int], [16, 16])
        XCTAssertEqual(config["d_model"] as? Int, 8)

        // Above chance (0.5) on all 64 images after two epochs.
        let e = try SSMTool.run(["evaluate", "--data", f.data, "--model", model])
        XCTAssertEqual(e.status, 0, e.err)
        let accuracy = try XCTUnwrap(SSMTool.objects(e.out).first?["accuracy"] as? Double)
        XCTAssertGreaterThan(accuracy, 0.75, e.out)
    }

    func testResumeContinuesFromTheCheckpoint() throws {
        let f = try trainedRun()
        let copy = f.root.appendingPathComponent("run-resumed")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: f.run, to: copy)
        let common = ["train-classifier", "--data", f.data, "--out", copy.path]

        // Without --resume an existing run is not overwritten.
        let clobber = try SSMTool.run(common + ["--epochs", "3"])
        XCTAssertNotEqual(clobber.status, 0)
        XCTAssertTrue(clobber.err.contains("--resume"), clobber.err)

        // Changing a training option on resume is refused.
        let changed = try SSMTool.run(common + ["--resume", "--epochs", "3", "--lr", "0.5"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.err.contains("--lr"), changed.err)

        let r = try SSMTool.run(common + ["--resume", "--epochs", "3"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.count, 2, r.out)
        XCTAssertEqual(lines.first?["epoch"] as? Int, 3)
        XCTAssertEqual(lines.first?["step"] as? Int, 36)
        XCTAssertEqual(lines.last?["epochs"] as? Int, 3)

        let before = try JSONSerialization.jsonObject(with: Data(contentsOf: f.run.appendingPathComponent("metrics.json"))) as? [String: Any]
        let after = try JSONSerialization.jsonObject(with: Data(contentsOf: copy.appendingPathComponent("metrics.json"))) as? [String: Any]
        let h0 = try XCTUnwrap(before?["history"] as? [[String: Any]]), h1 = try XCTUnwrap(after?["history"] as? [[String: Any]])
        XCTAssertEqual(h1.map { $0["epoch"] as? Int }, [1, 2, 3])
        XCTAssertEqual(h1.prefix(2).map { $0["train_loss"] as? Double }, h0.map { $0["train_loss"] as? Double }, "history kept")
        // Same split: the held-out count comes from the run's saved data options.
        XCTAssertEqual(after?["val_images"] as? Int, 16)

        // Fewer epochs than the run's, or different data, are refused (the data unless overridden).
        let fewer = try SSMTool.run(common + ["--resume", "--epochs", "2"])
        XCTAssertNotEqual(fewer.status, 0)
        XCTAssertTrue(fewer.err.contains("--epochs 2 is below the run's 3"), fewer.err)
        let other = try SSMTool.run(["train-classifier", "--data", f.odd, "--out", copy.path, "--resume", "--epochs", "4"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.err.contains("--resume: the data differs from the run's") && other.err.contains("--allow-data-change"), other.err)
        let run = try JSONSerialization.jsonObject(with: Data(contentsOf: copy.appendingPathComponent("run.json"))) as? [String: Any]
        XCTAssertEqual(run?["files"] as? Int, 64)
        XCTAssertNotNil(run?["fingerprint"] as? String)

        // --resume without a checkpoint.
        let none = try SSMTool.run(["train-classifier", "--data", f.data, "--out", f.root.appendingPathComponent("empty-run").path, "--resume"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.err.contains("no checkpoint to resume"), none.err)
    }

    func testValidationFolderAndImageLimit() throws {
        let f = try trainedRun()
        let run = f.root.appendingPathComponent("run-val")
        let r = try SSMTool.run(["train-classifier", "--data", f.data, "--val", f.odd, "--out", run.path, "--size", "16",
                                 "--d-model", "4", "--layers", "1", "--d-state", "4", "--epochs", "1", "--max-images", "20",
                                 "--batch-size", "10", "--no-augment"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.count, 2, r.out)
        XCTAssertEqual(lines.first?["step"] as? Int, 2)
        XCTAssertNotNil(lines.first?["val_accuracy"] as? Double)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("metrics.json"))) as? [String: Any]
        XCTAssertEqual(metrics?["train_images"] as? Int, 20)
        XCTAssertEqual(metrics?["val_images"] as? Int, 4)
        XCTAssertEqual((metrics?["options"] as? [String: Any])?["augment"] as? Bool, false)

        // A validation folder whose classes are not the training classes.
        let other = f.root.appendingPathComponent("val-other")
        try FileManager.default.createDirectory(at: other.appendingPathComponent("circles"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.data + "/blobs/01.png", toPath: other.path + "/circles/1.png")
        let bad = try SSMTool.run(["train-classifier", "--data", f.data, "--val", other.path, "--out", f.root.appendingPathComponent("run-bad").path,
                                   "--d-model", "4", "--layers", "1", "--d-state", "4", "--epochs", "1"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains(other.path) && bad.err.contains("circles"), bad.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.root.appendingPathComponent("run-bad").path), "no run folder on failure")
    }

    // MARK: classify

    func testClassifyReportsBadFilesAndClassifiesTheRest() throws {
        let f = try trainedRun()
        let dir = f.root.appendingPathComponent("classify-inputs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let good16 = f.data + "/stripes/00.png", good16b = f.data + "/blobs/01.png"
        let odd = f.odd + "/stripes/0.png"
        let rgb56 = "samples/images/fmnist-2-trouser-56x56-rgb.png", palette42 = "samples/images/fmnist-18-bag-42x42-palette.png"
        let corrupt = dir.appendingPathComponent("corrupt.png").path, empty = dir.appendingPathComponent("empty.png").path
        let missing = dir.appendingPathComponent("missing.png").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: good16))
        for i in 40..<min(bytes.count - 12, 70) { bytes[i] ^= 0x5a }          // damage the image data
        try bytes.write(to: URL(fileURLWithPath: corrupt))
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let files = [good16, corrupt, odd, empty, rgb56, missing, palette42, good16b]

        let r = try SSMTool.run(["classify", "--model", model, "--top-k", "5"] + files)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("3 of 8"), r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.map { $0["file"] as? String }, files)
        let errors = lines.filter { $0["error"] != nil }.map { $0["file"] as? String }
        XCTAssertEqual(errors, [corrupt, empty, missing])
        XCTAssertEqual(lines[3]["error"] as? String, "empty: file is empty")
        XCTAssertEqual(lines[5]["error"] as? String, "missing: no such file")
        let expectedSizes = [good16: [16, 16], odd: [12, 20], rgb56: [56, 56], palette42: [42, 42], good16b: [16, 16]]
        for line in lines where line["error"] == nil {
            let file = line["file"] as! String
            XCTAssertEqual(line["size"] as? [Int], expectedSizes[file], file)
            let top = try XCTUnwrap(line["top_k"] as? [[String: Any]])
            XCTAssertEqual(top.count, 2, "top-k is capped at the class count")
            XCTAssertEqual(Set(top.compactMap { $0["label"] as? String }), ["blobs", "stripes"])
            let scores = top.compactMap { $0["score"] as? Double }
            XCTAssertGreaterThanOrEqual(scores[0], scores[1])
            XCTAssertEqual(scores.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(line["label"] as? String, top[0]["label"] as? String)
            XCTAssertEqual(line["score"] as? Double, scores[0])
        }

        // --size resizes first; a folder is walked for PNGs; CSV has a header and one row per file.
        let csv = try SSMTool.run(["classify", "--model", model, "--size", "16", "--format", "csv", f.odd, rgb56])
        XCTAssertEqual(csv.status, 0, csv.err)
        let rows = csv.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.first, "file,label,score,height,width,top_k,error")
        XCTAssertEqual(rows.count, 1 + 4 + 1)
        for row in rows.dropFirst() {
            let cols = row.split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(cols.count, 7, row)
            XCTAssertEqual(cols[3...4], ["16", "16"], row)
            XCTAssertTrue(["blobs", "stripes"].contains(String(cols[1])), row)
        }
        XCTAssertTrue(rows[1].hasPrefix(f.odd + "/blobs/"), rows[1])

        // The model named by $SSM_MODEL is used when --model is absent.
        let env = try SSMTool.run(["classify", good16], environment: ["SSM_MODEL": model])
        XCTAssertEqual(env.status, 0, env.err)
        XCTAssertEqual(try SSMTool.objects(env.out).first?["label"] as? String, lines[0]["label"] as? String)
        let envMissing = try SSMTool.run(["classify", good16], environment: ["SSM_MODEL": dir.appendingPathComponent("none.safetensors").path])
        XCTAssertNotEqual(envMissing.status, 0)
        XCTAssertTrue(envMissing.err.contains("none.safetensors: no such model file"), envMissing.err)

        // A file that is not a model.
        let notModel = try SSMTool.run(["classify", "--model", good16, good16])
        XCTAssertNotEqual(notModel.status, 0)
        XCTAssertTrue(notModel.err.contains(good16), notModel.err)
    }

    // MARK: evaluate

    func testEvaluateAtTwoSizes() throws {
        let f = try trainedRun()
        let r = try SSMTool.run(["evaluate", "--data", f.data, "--model", model, "--size", "16", "24x20"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try SSMTool.objects(r.out)
        XCTAssertEqual(lines.map { $0["size"] as? [Int] }, [[16, 16], [24, 20]])
        for l in lines {
            XCTAssertEqual(l["count"] as? Int, 64)
            XCTAssertEqual(l["classes"] as? [String], ["blobs", "stripes"])
            let confusion = try XCTUnwrap(l["confusion"] as? [[Int]])
            XCTAssertEqual(confusion.count, 2)
            XCTAssertEqual(confusion.map { $0.reduce(0, +) }, [32, 32], "row sums are the images per true class")
            let accuracy = try XCTUnwrap(l["accuracy"] as? Double)
            XCTAssertEqual(accuracy, Double(confusion[0][0] + confusion[1][1]) / 64, accuracy: 1e-6)
            XCTAssertTrue((l["loss"] as? Double).map { $0.isFinite && $0 > 0 } ?? false)
        }

        let table = try SSMTool.run(["evaluate", "--data", f.data, "--model", model, "--size", "16", "--size", "8", "--format", "table"])
        XCTAssertEqual(table.status, 0, table.err)
        let rows = table.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.count, 4, table.out)
        XCTAssertEqual(rows[0], "| size | accuracy |")
        XCTAssertTrue(rows[2].hasPrefix("| 16×16 (train) | ") && rows[2].hasSuffix("% |"), rows[2])
        XCTAssertTrue(rows[3].hasPrefix("| 8×8 | "), rows[3])

        // An unreadable file is listed under "skipped" and makes the exit status 1.
        let damaged = f.root.appendingPathComponent("with-damaged")
        try? FileManager.default.removeItem(at: damaged)
        try FileManager.default.copyItem(atPath: f.data, toPath: damaged.path)
        try Data("not a png".utf8).write(to: damaged.appendingPathComponent("blobs/zz-broken.png"))
        let withBad = try SSMTool.run(["evaluate", "--data", damaged.path, "--model", model])
        XCTAssertEqual(withBad.status, 1, withBad.err)
        let badLine = try XCTUnwrap(try SSMTool.objects(withBad.out).first)
        let skipped = try XCTUnwrap(badLine["skipped"] as? [[String: Any]])
        XCTAssertEqual(skipped.count, 1)
        XCTAssertTrue((skipped[0]["file"] as? String)?.hasSuffix("zz-broken.png") ?? false)
        XCTAssertEqual(badLine["count"] as? Int, 64)
        XCTAssertEqual((lines.first?["skipped"] as? [Any])?.count, 0)

        // Class folders that are not the model's classes.
        let other = f.root.appendingPathComponent("other-classes")
        try FileManager.default.createDirectory(at: other.appendingPathComponent("circles"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.data + "/blobs/01.png", toPath: other.path + "/circles/1.png")
        let mismatch = try SSMTool.run(["evaluate", "--data", other.path, "--model", model])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.err.contains(other.path) && mismatch.err.contains("circles") && mismatch.err.contains("stripes"), mismatch.err)
        XCTAssertEqual(mismatch.out, "")
    }

    // MARK: arguments

    func testBadArgumentsAreRejectedWithAMessage() throws {
        let cases: [([String], String)] = [
            (["classify", "--top-k", "0", "x.png"], "--top-k must be at least 1"),
            (["classify", "--format", "xml", "x.png"], "'xml' is invalid"),
            (["classify"], "at least one image, video or audio file"),
            (["classify", "--size", "0", "x.png"], "--size"),
            (["evaluate", "--data", "/nonexistent-ssm-data", "--format", "yaml"], "'yaml' is invalid"),
            (["evaluate", "--data", "/nonexistent-ssm-data"], "/nonexistent-ssm-data: no such folder"),
            (["train-classifier", "--data", "/nonexistent-ssm-data", "--out", "/tmp/ssm-never"], "/nonexistent-ssm-data: not a directory"),
            (["train-classifier", "--out", "/tmp/ssm-never"], "--data"),
            (["train-classifier", "--data", "d", "--out", "o", "--d-state", "7"], "--d-state must be even"),
            (["train-classifier", "--data", "d", "--out", "o", "--val", "v", "--val-fraction", "0.2"], "not both"),
            (["dataset", "import-idx", "a", "b", "--out", "o", "--limit", "0"], "--limit must be at least 1"),
            (["train-classifier", "--data", "d", "--out", "o", "--kernel", "s6"], "unknown kernel \"s6\" (valid: s4d, dplr, dss, dlr, ema, sgconv, conv)"),
            (["train-classifier", "--data", "d", "--out", "o", "--kernel", "dplr", "--init", "diag-lin"], "init = diag-lin: dplr takes legs, fout, legt"),
            (["train-classifier", "--data", "d", "--out", "o", "--kernel", "ema", "--bandlimit", "0.5"], "ema has no bandlimit"),
            (["train-classifier", "--data", "d", "--out", "o", "--block", "rnn"], "block = rnn: valid: s4, s5, mamba, gss"),
            (["train-classifier", "--data", "d", "--out", "o", "--smr", "4"], "--smr applies to 1-D sequence models"),
            (["inspect", "/nonexistent-ssm-model.safetensors"], "/nonexistent-ssm-model.safetensors"),
        ]
        for (arguments, message) in cases {
            let r = try SSMTool.run(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.err.contains(message), "\(arguments): \(r.err)")
            XCTAssertEqual(r.out, "", arguments.joined(separator: " "))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/ssm-never"))
    }

    /// A model trained with another kernel records it: inspect reports it, evaluate needs no flag.
    func testTrainWithAKernelAndInspect() throws {
        let f = try trainedRun()
        let run = f.root.appendingPathComponent("run-dplr")
        let trained = try SSMTool.run(["train-classifier", "--data", f.data, "--out", run.path, "--size", "16",
                                       "--d-model", "8", "--layers", "1", "--d-state", "8", "--epochs", "1",
                                       "--batch-size", "8", "--val-fraction", "0", "--kernel", "dplr", "--init", "legt", "--seed", "1"])
        XCTAssertEqual(trained.status, 0, trained.err)
        let model = run.appendingPathComponent("model.safetensors").path
        let png = f.root.appendingPathComponent("kernels.png").path
        let inspected = try SSMTool.run(["inspect", model, "--plot", png])
        XCTAssertEqual(inspected.status, 0, inspected.err)
        let lines = inspected.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)                                   // the model, then its 2 kernels (one per axis)
        XCTAssertTrue(lines[0].contains("\"kernel\":\"dplr\"") && lines[0].contains("\"init\":\"legt\""), String(lines[0]))
        XCTAssertTrue(lines[1].contains("\"kernel\": \"dplr\"") && lines[1].contains("\"eig_real\""), String(lines[1]))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47])   // a PNG
        XCTAssertGreaterThan(bytes.count, 2000)
        let evaluated = try SSMTool.run(["evaluate", "--data", f.data, "--model", model, "--size", "16", "--size", "24"])
        XCTAssertEqual(evaluated.status, 0, evaluated.err)
        XCTAssertEqual(evaluated.out.split(separator: "\n").count, 2)
        let registry = try SSMTool.run(["inspect", "--kernels"])
        XCTAssertEqual(registry.out.split(separator: "\n").count, 7)
    }

    /// SIGINT stops training with a message, keeps the last epoch's checkpoint, and marks
    /// metrics.json as interrupted.
    func testInterruptKeepsTheCheckpoint() throws {
        let f = try trainedRun()
        guard let ssm = TestSupport.ssmExecutable else { throw XCTSkip("ssm binary not found") }
        let run = f.root.appendingPathComponent("run-interrupted")
        let outFile = f.root.appendingPathComponent("interrupted.jsonl")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let process = Process()
        process.executableURL = ssm
        process.arguments = ["train-classifier", "--data", f.data, "--out", run.path, "--size", "16", "--d-model", "8", "--layers", "1",
                             "--d-state", "8", "--epochs", "200", "--batch-size", "4", "--val-fraction", "0", "--seed", "2"]
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        let err = Pipe()
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Wait for the first finished epoch, then interrupt.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? String(contentsOf: outFile, encoding: .utf8)) ?? "").isEmpty { usleep(50_000) }
        process.interrupt()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertTrue(message.contains("interrupted at epoch") && message.contains("continue with --resume"), message)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoint.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("model.safetensors").path))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("metrics.json"))) as? [String: Any]
        XCTAssertEqual(metrics?["status"] as? String, "interrupted")
    }

    /// A learning rate far too large: the run stops at the first non-finite loss with the advice,
    /// exits 1, keeps no model, and metrics.json says diverged (valid JSON, no NaN).
    func testDivergenceStopsWithAMessage() throws {
        let f = try trainedRun()
        let run = f.root.appendingPathComponent("run-diverged")
        let r = try SSMTool.run(["train-classifier", "--data", f.data, "--out", run.path, "--size", "16", "--d-model", "8", "--layers", "1",
                                 "--d-state", "8", "--epochs", "3", "--batch-size", "8", "--val-fraction", "0", "--lr", "1e30", "--ssm-lr", "1e30"])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("diverged at epoch 1") && r.err.contains("no checkpoint was written") && r.err.contains("try a lower --lr"), r.err)
        XCTAssertFalse(r.err.contains("EncodingError") || r.err.contains("nan"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("model.safetensors").path))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("metrics.json"))) as? [String: Any]
        XCTAssertEqual(metrics?["status"] as? String, "diverged")
        XCTAssertTrue((metrics?["message"] as? String)?.contains("diverged at epoch") ?? false)
        // Options use the configuration's snake_case keys.
        let options = try XCTUnwrap(metrics?["options"] as? [String: Any])
        XCTAssertEqual(options["batch_size"] as? Int, 8)
        XCTAssertNil(options["batchSize"])
    }

    /// One pixel limit for images at their own size and for --size, explained; sizes that do not parse say what a size is.
    func testSizeLimitsAreOneAndExplained() throws {
        let dir = TestSupport.temporaryDirectory("size-limits")
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = dir.appendingPathComponent("big.png").path
        try PNGFile.write(Image(channels: 1, height: 600, width: 500, pixels: [Float](repeating: 0.5, count: 300_000)), to: big)
        var r = try SSMTool.run(["classify", big])
        XCTAssertEqual(r.status, 1)
        let line = try XCTUnwrap(try SSMTool.objects(r.out).first)
        XCTAssertEqual(line["error"] as? String, "too_large: image is 500 wide × 600 high (300000 pixels); the model runs on 2x2 up to 262144 pixels (512x512; " +
                       "inference memory grows with the pixel count, about 2 KB per pixel for the shipped model); use --size to resize, e.g. --size 512")
        r = try SSMTool.run(["classify", big, "--size", "512"])
        XCTAssertEqual(r.status, 0, r.err)
        for (args, message) in [(["classify", big, "--size", "600x500"], "--size 600x500 (600 high × 500 wide) is 300000 pixels: the model runs on 2x2 up to 262144 pixels"),
                                (["evaluate", "--data", dir.path, "--size", "1024"], "--size 1024 (1024 high × 1024 wide) is 1048576 pixels"),
                                (["classify", big, "--size", "10x"], "--size '10x' is not a size: give N (square) or HxW (height first), each side 1…2048"),
                                (["classify", big, "--size", "100000"], "each side 1…2048"),
                                (["classify", big, "--size", "1"], "the model runs on 2x2 up to")] {
            r = try SSMTool.run(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.err.contains(message), "\(args): \(r.err)")
        }
    }

    /// A file whose name is not UTF-8 is found in a folder, classified, and reported with the bytes escaped.
    func testNonUTF8NamesAreReadAndReportedEscaped() throws {
        let dir = TestSupport.temporaryDirectory("raw-name-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = SystemPath.string(bytes: Array("coat-".utf8) + [0xff] + Array(".png".utf8))
        let png = try Data(contentsOf: URL(fileURLWithPath: "samples/images/fmnist-6-coat.png"))
        let fd = SystemPath.withCString(dir.path + "/" + name) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        _ = png.withUnsafeBytes { write(fd, $0.baseAddress, png.count) }
        close(fd)
        let r = try SSMTool.run(["classify", dir.path])
        XCTAssertEqual(r.status, 0, r.err)
        let line = try XCTUnwrap(try SSMTool.objects(r.out).first)
        XCTAssertEqual(line["file"] as? String, dir.path + "/coat-\\xff.png")
        XCTAssertEqual(line["label"] as? String, "coat")
    }

    func testEmptyClassFolderIsRefused() throws {
        let f = try trainedRun()
        let data = f.root.appendingPathComponent("data-with-empty")
        try? FileManager.default.removeItem(at: data)
        try FileManager.default.copyItem(atPath: f.data, toPath: data.path)
        try FileManager.default.createDirectory(at: data.appendingPathComponent("zebras"), withIntermediateDirectories: true)
        let out = f.root.appendingPathComponent("run-empty")
        let r = try SSMTool.run(["train-classifier", "--data", data.path, "--out", out.path, "--epochs", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("zebras: empty class folder"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    /// inspect on an empty, a garbage, a foreign safetensors file and a folder: a clear error naming it.
    func testInspectRejectsFilesThatAreNotModels() throws {
        let dir = TestSupport.temporaryDirectory("inspect-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.safetensors"), junk = dir.appendingPathComponent("junk.safetensors")
        let foreign = dir.appendingPathComponent("foreign.safetensors")
        try Data().write(to: empty)
        try Data((0..<100).map { UInt8(($0 * 37 + 11) % 256) }).write(to: junk)
        try SafeTensors.write(["x": Tensor.zeros([2])], to: foreign)
        let cases: [(URL, String)] = [(empty, "empty file"), (junk, "not a safetensors file"), (foreign, "not a model this tool makes"),
                                      (dir, "is a folder, not a model file")]
        for (url, message) in cases {
            let r = try SSMTool.run(["inspect", url.path])
            XCTAssertEqual(r.status, 1, url.path)
            XCTAssertTrue(r.err.contains(url.path) && r.err.contains(message), r.err)
            XCTAssertFalse(r.err.contains("NSCocoaErrorDomain"), r.err)
            XCTAssertEqual(r.out, "")
        }
    }
}
