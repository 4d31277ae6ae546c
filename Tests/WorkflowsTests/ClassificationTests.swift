import Foundation
import MediaIO
import S4ND
import SSMCore
import TestSupport
import XCTest
@testable import Workflows

final class ClassificationTests: XCTestCase {
    func testImageSizeParsing() {
        XCTAssertEqual(ImageSize(parsing: "28"), ImageSize(height: 28, width: 28))
        XCTAssertEqual(ImageSize(parsing: "24x32"), ImageSize(height: 24, width: 32))
        XCTAssertEqual(ImageSize(parsing: "24X32"), ImageSize(height: 24, width: 32))
        XCTAssertEqual(ImageSize(parsing: "24×32"), ImageSize(height: 24, width: 32))
        for bad in ["", "0", "-3", "x", "28x", "x28", "2x3x4", "abc", "99999", "28x0"] {
            XCTAssertNil(ImageSize(parsing: bad), bad)
        }
        XCTAssertEqual(ImageSize(height: 5, width: 5).description, "5")
        XCTAssertEqual(ImageSize(height: 5, width: 7).description, "5x7")
    }

    func testTopKOrdersByScoreThenIndex() {
        let probs: [Float] = [0.1, 0.4, 0.1, 0.4]
        let top = Classification.topK(probs[...], k: 3, labels: ["a", "b", "c", "d"])
        XCTAssertEqual(top.map(\.label), ["b", "d", "a"])
        XCTAssertEqual(top.map(\.score), [0.4, 0.4, 0.1])
        // A slice not starting at 0 (one row of a batch).
        let batch: [Float] = [0.9, 0.1, 0.2, 0.8]
        XCTAssertEqual(Classification.topK(batch[2..<4], k: 1, labels: ["x", "y"]).map(\.index), [1])
    }

    func testSoftmaxMatchesDirectFormula() {
        let logits = Tensor(shape: [2, 3], data: [1, 2, 3, -1000, 0, 1000])
        let p = logits.softmax()           // the one softmax classification uses
        let e: [Double] = [1, 2, 3].map { Foundation.exp(Double($0)) }
        let s = e.reduce(0, +)
        for j in 0..<3 { XCTAssertEqual(Double(p.data[j]), e[j] / s, accuracy: 1e-6) }
        XCTAssertEqual(Array(p.data[3...]), [0, 0, 1])
    }

    func dataset(_ n: Int) -> ImageDataset {
        ImageDataset(images: (0..<n).map(Float.init), labels: (0..<n).map { $0 % 3 }, channels: 1, height: 1, width: 1,
                     classNames: ["a", "b", "c"], files: (0..<n).map { "f\($0)" })
    }

    func testSplitIsSeededDisjointAndComplete() {
        let d = dataset(50)
        let (rest, held) = d.split(holdOut: 0.2, seed: 4)
        XCTAssertEqual(held.count, 10)
        XCTAssertEqual(rest.count, 40)
        XCTAssertEqual(Set(rest.files + held.files), Set(d.files))
        XCTAssertTrue(Set(rest.files).isDisjoint(with: held.files))
        for part in [rest, held] {
            for (i, f) in part.files.enumerated() {
                let k = Int(f.dropFirst())!
                XCTAssertEqual(part.images[i], Float(k)); XCTAssertEqual(part.labels[i], k % 3)
            }
        }
        XCTAssertEqual(d.split(holdOut: 0.2, seed: 4).1.files, held.files, "same seed, same split")
        XCTAssertNotEqual(d.split(holdOut: 0.2, seed: 5).1.files, held.files)
        // Tiny sets keep at least one image on each side.
        XCTAssertEqual(dataset(2).split(holdOut: 0.01, seed: 0).1.count, 1)
        XCTAssertEqual(dataset(2).split(holdOut: 0.9, seed: 0).0.count, 1)
        XCTAssertEqual(d.split(holdOut: 0, seed: 0).1.count, 0)
        let s = d.sample(7, seed: 1)
        XCTAssertEqual(s.count, 7)
        XCTAssertEqual(s.files, s.files.sorted { Int($0.dropFirst())! < Int($1.dropFirst())! }, "file order kept")
        XCTAssertEqual(d.sample(80, seed: 1).count, 50)
    }

    func testDefaultModelLookup() throws {
        let root = TestSupport.temporaryDirectory("ssm-default-model")
        defer { try? FileManager.default.removeItem(at: root) }
        let bin = root.appendingPathComponent(".build/debug")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let exe = bin.appendingPathComponent("ssm")
        XCTAssertThrowsError(try DefaultModel.locate(environment: [:], executable: exe)) { error in
            XCTAssertEqual(error as? DefaultModel.LocateError, .notFound(searchedFrom: bin.path))
            XCTAssertTrue("\(error)".contains("train-classifier"))
        }
        let model = root.appendingPathComponent(DefaultModel.relativePath)
        try FileManager.default.createDirectory(at: model.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: model.path, contents: Data([1]))
        XCTAssertEqual(try DefaultModel.locate(environment: [:], executable: exe).path, model.path)
        let other = root.appendingPathComponent("other.safetensors")
        XCTAssertThrowsError(try DefaultModel.locate(environment: ["SSM_MODEL": other.path], executable: exe)) { error in
            XCTAssertEqual(error as? DefaultModel.LocateError, .environmentFileMissing(other.path))
        }
        _ = FileManager.default.createFile(atPath: other.path, contents: Data([1]))
        XCTAssertEqual(try DefaultModel.locate(environment: ["SSM_MODEL": other.path], executable: exe).path, other.path)
    }

    func testClassifyMatchesTheModelOnBatchesOfMixedSizes() throws {
        var config = ImageClassifierConfig()
        config.dModel = 4; config.layers = 1; config.dState = 4; config.classes = 3
        config.classNames = ["a", "b", "c"]; config.trainSize = [8, 8]; config.dropout = 0
        var rng = SeededRNG(seed: 2)
        let model = try ImageClassifier(config, rng: &rng)
        let dir = TestSupport.temporaryDirectory("ssm-classify")
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        var images: [Image] = []
        for (i, (h, w)) in [(8, 8), (6, 10), (8, 8), (12, 12)].enumerated() {
            let img = Image(channels: 1, height: h, width: w, pixels: (0..<(h * w)).map { _ in rng.uniform() })
            let path = dir.appendingPathComponent("\(i).png").path
            try PNGFile.write(img, to: path)
            files.append(path)
            images.append(try PNGFile.read(path, mode: .gray))
        }
        files.insert(dir.appendingPathComponent("missing.png").path, at: 1)
        // Chunks splitting the files, one chunk with both 8x8 images in one batch, and one batch per image.
        for (chunk, batchPixels) in [(3, 4096), (5, 4096), (5, 64)] {
            var got: [(String, Result<FileClassification, Error>)] = []
            Classification.classify(files, model: model, topK: 3, size: nil, chunk: chunk, batchPixels: batchPixels) { got.append(($0, $1)) }
            XCTAssertEqual(got.map(\.0), files)
            XCTAssertThrowsError(try got[1].1.get())
            for (k, i) in [0, 2, 3, 4].enumerated() {
                let r = try got[i].1.get()
                let img = images[k]
                XCTAssertEqual(r.size, [img.height, img.width])
                // One image alone through the model gives the same probabilities as the batched run.
                let logits = Autograd.withoutGradients { model(Tensor(shape: [1, 1, img.height, img.width], data: img.pixels)).value }
                let p = logits.softmax()           // the one softmax classification uses
                for t in r.top { XCTAssertEqual(t.score, p.data[t.index], accuracy: 1e-5, "chunk \(chunk), batch pixels \(batchPixels)") }
                XCTAssertEqual(r.top.map(\.index), Classification.topK(p.data[...], k: 3, labels: config.classNames).map(\.index))
            }
        }
        // --size resizes every image first.
        var resized: [FileClassification] = []
        Classification.classify([files[2]], model: model, topK: 1, size: ImageSize(height: 5, width: 7)) { _, r in
            if let v = try? r.get() { resized.append(v) }
        }
        XCTAssertEqual(resized.first?.size, [5, 7])
        XCTAssertEqual(resized.first?.top.count, 1)
    }

    /// Non-finite scores are an error for that file, never a result with null scores.
    func testNonFiniteScoresAreAnError() throws {
        var c = ImageClassifierConfig()
        c.classes = 2; c.dModel = 4; c.layers = 1; c.dState = 4; c.trainSize = [8, 8]
        var rng = SeededRNG(seed: 2)
        let model = try ImageClassifier(c, rng: &rng)
        model.decoder.bias!.value.data[1] = .infinity                 // e.g. a model that diverged in memory
        let file = TestSupport.samplesDirectory.appendingPathComponent("images").path
        let pngs = try FileManager.default.contentsOfDirectory(atPath: file).filter { $0.hasSuffix(".png") }.prefix(2).map { file + "/" + $0 }
        var outcomes: [String] = []
        Classification.classify(Array(pngs), model: model, topK: 1, size: ImageSize(height: 8, width: 8)) { f, r in
            switch r {
            case .success: outcomes.append("ok")
            case .failure(let e): outcomes.append("\(e)")
            }
        }
        XCTAssertEqual(outcomes.count, 2)
        for o in outcomes { XCTAssertTrue(o.contains("non-finite scores"), o) }
    }
}

/// Folder walking: each real file once through symlinks and loops, hidden entries skipped and
/// counted, empty class folders reported.
final class FolderWalkerTests: XCTestCase {
    func testLinksLoopsHiddenFilesAndEmptyClasses() throws {
        let root = TestSupport.temporaryDirectory("walk")
        defer { try? FileManager.default.removeItem(at: root) }
        let fm = FileManager.default
        for c in ["a", "b", "empty"] { try fm.createDirectory(at: root.appendingPathComponent(c), withIntermediateDirectories: true) }
        let png = TestSupport.samplesDirectory.appendingPathComponent("images").path
        let sample = try fm.contentsOfDirectory(atPath: png).first { $0.hasSuffix(".png") }!
        try fm.copyItem(atPath: png + "/" + sample, toPath: root.path + "/a/one.png")
        try fm.copyItem(atPath: png + "/" + sample, toPath: root.path + "/b/two.png")
        try fm.createSymbolicLink(atPath: root.path + "/a/same-as-one.png", withDestinationPath: root.path + "/a/one.png")
        try fm.copyItem(atPath: png + "/" + sample, toPath: root.path + "/b/.hidden.png")
        try fm.createSymbolicLink(atPath: root.path + "/b/loop", withDestinationPath: root.path)   // a folder loop
        let l = try ImageFolder.listing(root.path)
        XCTAssertEqual(l.classNames, ["a", "b", "empty"])
        XCTAssertEqual(l.files.map { ($0.0 as NSString).lastPathComponent }, ["one.png", "two.png"])
        XCTAssertEqual(l.hidden, 1)
        XCTAssertEqual(l.emptyClasses, ["empty"])
        // The recursive walk (audio data sets) follows the loop once and lists each real file once.
        let all = FolderWalker.list(root.path, recursive: true) { $0.hasSuffix(".png") }
        XCTAssertEqual(all.files.map { ($0 as NSString).lastPathComponent }, ["one.png", "two.png"])
        XCTAssertEqual(all.hidden, 1)
    }
}
