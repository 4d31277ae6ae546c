import Foundation
import XCTest
import MediaIO
import S4ND
import SSMCore
import TestSupport
@testable import Workflows

final class ClassifierTrainingTests: XCTestCase {
    /// Two classes of 8×8 images: a bright 2×2 square or a bright 4×4 square at a random place, on
    /// a noisy dark background.
    func squares(count: Int, seed: UInt64) -> ImageDataset {
        var rng = SeededRNG(seed: seed)
        var images: [Float] = [], labels: [Int] = []
        for i in 0..<count {
            let label = i % 2, side = label == 0 ? 2 : 4
            let top = Int(rng.next() % UInt64(9 - side)), left = Int(rng.next() % UInt64(9 - side))
            for y in 0..<8 { for x in 0..<8 {
                let inside = y >= top && y < top + side && x >= left && x < left + side
                images.append((inside ? 0.9 : 0.1) + 0.05 * rng.normal())
            } }
            labels.append(label)
        }
        return ImageDataset(images: images, labels: labels, channels: 1, height: 8, width: 8,
                            classNames: ["small", "large"], files: (0..<count).map { "img\($0)" })
    }

    func tinyConfig() -> ImageClassifierConfig {
        var c = ImageClassifierConfig()
        c.classes = 2; c.classNames = ["small", "large"]
        c.dModel = 8; c.layers = 1; c.dState = 8; c.trainSize = [8, 8]; c.dropout = 0; c.finalNorm = true
        return c
    }

    func tinyOptions(epochs: Int) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = epochs; o.batchSize = 16; o.learningRate = 0.01; o.ssmLearningRate = 0.005; o.seed = 3
        o.augment = false
        return o
    }

    func testTrainingLearnsSquaresAndCheckpointReloads() throws {
        var rng = SeededRNG(seed: 1)
        let model = try ImageClassifier(tinyConfig(), rng: &rng)
        let train = squares(count: 128, seed: 10), val = squares(count: 64, seed: 11)
        let before = try Evaluation.evaluate(model, on: val)
        let trainer = try ClassifierTrainer(model: model, options: tinyOptions(epochs: 10))
        let dir = TestSupport.temporaryDirectory()
        let ckpt = dir.appendingPathComponent("checkpoint.safetensors")
        var epochs: [EpochMetrics] = []
        try trainer.run(train: train, validation: val, checkpoint: ckpt, progress: { _ in }, onEpoch: { epochs.append($0); print("epoch", $0.epoch, $0.trainLoss, $0.trainAccuracy, $0.validationAccuracy ?? -1) })
        XCTAssertEqual(epochs.count, 10)
        XCTAssertLessThan(epochs.last!.trainLoss, epochs.first!.trainLoss)
        let after = try Evaluation.evaluate(model, on: val)
        XCTAssertGreaterThan(after.accuracy, 0.9, "validation accuracy \(after.accuracy) (before training \(before.accuracy))")
        XCTAssertEqual(after.confusion.flatMap { $0 }.reduce(0, +), 64)

        // The checkpoint reloads as the same model.
        let (loaded, _) = try ClassifierCheckpoint.load(ckpt)
        XCTAssertEqual(loaded.config, model.config)
        let (x, _) = val.batch(Array(0..<8)[...])
        let a = Autograd.withoutGradients { model(x).value }, b = Autograd.withoutGradients { loaded(x).value }
        XCTAssertEqual(a, b)
    }

    /// Stopping after epoch 1 and resuming gives bit-identical weights to an uninterrupted run.
    func testResumeContinuesExactly() throws {
        let train = squares(count: 48, seed: 20)
        var rng1 = SeededRNG(seed: 2)
        let straight = try ImageClassifier(tinyConfig(), rng: &rng1)
        try ClassifierTrainer(model: straight, options: tinyOptions(epochs: 2))
            .run(train: train, validation: nil, checkpoint: nil, progress: { _ in }, onEpoch: { _ in })

        let dir = TestSupport.temporaryDirectory()
        let ckpt = dir.appendingPathComponent("checkpoint.safetensors")
        var rng2 = SeededRNG(seed: 2)
        let first = try ImageClassifier(tinyConfig(), rng: &rng2)
        // Train one epoch of a two-epoch schedule, then stop.
        let t1 = try ClassifierTrainer(model: first, options: tinyOptions(epochs: 2))
        try t1.runEpochs(1, train: train, validation: nil, checkpoint: ckpt)
        let (resumedModel, file) = try ClassifierCheckpoint.load(ckpt)
        let t2 = try ClassifierTrainer(model: resumedModel, options: tinyOptions(epochs: 2))
        try t2.resume(from: file, path: ckpt.path)
        XCTAssertEqual(t2.epoch, 1)
        try t2.run(train: train, validation: nil, checkpoint: ckpt, progress: { _ in }, onEpoch: { _ in })
        XCTAssertEqual(t2.epoch, 2)
        for ((k, p), (_, q)) in zip(straight.namedParameters, resumedModel.namedParameters) {
            XCTAssertEqual(p.value, q.value, "parameter \(k) differs after resume")
        }
    }

    func testCheckpointRejectsOtherFiles() throws {
        let dir = TestSupport.temporaryDirectory()
        let other = dir.appendingPathComponent("other.safetensors")
        try SafeTensors.write(["w": Tensor(shape: [2], data: [1, 2])], metadata: ["format": "something-else"], to: other)
        XCTAssertThrowsError(try ClassifierCheckpoint.load(other)) { e in
            XCTAssertTrue("\(e)".contains(other.path), "\(e)")
            XCTAssertTrue("\(e)".contains("not an image classifier"), "\(e)")
        }
        let broken = dir.appendingPathComponent("broken.safetensors")
        try SafeTensors.write(["w": Tensor(shape: [2], data: [1, 2])], metadata: ["format": ClassifierCheckpoint.format, "config": "{"], to: broken)
        XCTAssertThrowsError(try ClassifierCheckpoint.load(broken)) { e in XCTAssertTrue("\(e)".contains("invalid model configuration"), "\(e)") }
        // Right config, missing weights.
        var rng = SeededRNG(seed: 1)
        let model = try ImageClassifier(tinyConfig(), rng: &rng)
        let good = dir.appendingPathComponent("good.safetensors")
        try ClassifierCheckpoint.save(model, to: good)
        let file = try SafeTensors.read(good)
        var t = file.tensors; t.removeValue(forKey: "decoder.bias")
        let missing = dir.appendingPathComponent("missing.safetensors")
        try SafeTensors.write(t, metadata: file.metadata, to: missing)
        XCTAssertThrowsError(try ClassifierCheckpoint.load(missing)) { e in XCTAssertTrue("\(e)".contains("decoder.bias"), "\(e)") }
    }
}

final class ClassifierGradientTests: XCTestCase {
    /// End-to-end gradient of the classifier's loss w.r.t. a sample of parameters, against central
    /// differences (Double-accumulated loss).
    func testWholeModelGradientMatchesFiniteDifferences() throws {
        var c = ImageClassifierConfig()
        c.classes = 3; c.dModel = 4; c.layers = 2; c.dState = 4; c.trainSize = [5, 6]; c.dropout = 0
        c.bandlimit = nil  // the mask is a step function of inv_dt: finite differences across it are meaningless
        var rng = SeededRNG(seed: 9)
        let model = try ImageClassifier(c, rng: &rng)
        let x = TestSupport.randomTensor([2, 1, 5, 6], rng: &rng)
        let labels = [0, 2]
        func loss() throws -> Float { try softmaxCrossEntropy(logits: model(x), labels: labels).loss.value.scalar }
        let (l, _) = try softmaxCrossEntropy(logits: model(x), labels: labels)
        l.backward()
        for (name, p) in model.namedParameters {
            let g = p.grad!
            for i in Swift.stride(from: 0, to: p.value.count, by: max(1, p.value.count / 3)) {
                let old = p.value.data[i]
                let eps: Float = 1e-2
                p.value.data[i] = old + eps; let lp = try Autograd.withoutGradients { try loss() }
                p.value.data[i] = old - eps; let lm = try Autograd.withoutGradients { try loss() }
                p.value.data[i] = old
                let numeric = (lp - lm) / (2 * eps)
                XCTAssertEqual(g.data[i], numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]")
            }
        }
    }
}

final class ClassifierBatchTests: XCTestCase {
    /// An image's logits do not depend on the other images in its batch.
    func testLogitsIndependentOfBatch() throws {
        var c = ImageClassifierConfig()
        c.classes = 3; c.dModel = 6; c.layers = 2; c.dState = 8; c.trainSize = [7, 9]
        var rng = SeededRNG(seed: 4)
        let model = try ImageClassifier(c, rng: &rng)
        let batch = TestSupport.randomTensor([5, 1, 7, 9], rng: &rng)
        let all = Autograd.withoutGradients { model(batch).value }
        for i in 0..<5 {
            let one = Tensor(shape: [1, 1, 7, 9], data: Array(batch.data[(i * 63)..<((i + 1) * 63)]))
            let single = Autograd.withoutGradients { model(one).value }
            assertClose(single, Tensor(shape: [1, 3], data: Array(all.data[(i * 3)..<((i + 1) * 3)])), atol: 1e-5, "image \(i)")
        }
    }
}

final class AugmentationTests: XCTestCase {
    func testAugmentFlipsAndShiftsWithoutChangingContent() throws {
        var c = ImageClassifierConfig(); c.dModel = 4; c.layers = 0; c.trainSize = [3, 4]
        var rng = SeededRNG(seed: 1)
        let model = try ImageClassifier(c, rng: &rng)
        var o = TrainingOptions(); o.maxShift = 0; o.flip = true
        let trainer = try ClassifierTrainer(model: model, options: o)
        let original = Tensor(shape: [20, 1, 3, 4], data: (0..<240).map { Float($0) })
        var x = original
        trainer.augment(&x)
        var flipped = 0
        for i in 0..<20 {
            let a = Array(original.data[(i * 12)..<((i + 1) * 12)]), b = Array(x.data[(i * 12)..<((i + 1) * 12)])
            let mirror = (0..<3).flatMap { r in a[(r * 4)..<(r * 4 + 4)].reversed() }
            XCTAssertTrue(b == a || b == mirror, "image \(i) is neither itself nor its mirror")
            if b == mirror { flipped += 1 }
        }
        XCTAssertTrue(flipped > 0 && flipped < 20, "\(flipped) of 20 flipped")

        o.flip = false; o.maxShift = 1
        let shifter = try ClassifierTrainer(model: model, options: o)
        var y = original
        shifter.augment(&y)
        for i in 0..<20 {
            let a = Array(original.data[(i * 12)..<((i + 1) * 12)]), b = Array(y.data[(i * 12)..<((i + 1) * 12)])
            // b must equal a shifted by some (dy, dx) in [-1, 1]², zero-filled.
            let ok = (-1...1).contains { dy in (-1...1).contains { dx in
                (0..<3).allSatisfy { r in (0..<4).allSatisfy { col in
                    let sr = r - dy, sc = col - dx
                    let expect: Float = (sr >= 0 && sr < 3 && sc >= 0 && sc < 4) ? a[sr * 4 + sc] : 0
                    return b[r * 4 + col] == expect
                } }
            } }
            XCTAssertTrue(ok, "image \(i) is not a shift of the original")
        }
    }
}

final class ParameterGroupTests: XCTestCase {
    /// The kernels and layers mark their parameters; the marks give the official S4 recipe:
    /// `inv_dt`, `A_real`, `A_imag`, `B` of every kernel axis are SSM parameters (`C` is not),
    /// biases, norms and `D` take no decay, everything else is an ordinary weight.
    func testLayersMarkTheirParameterRoles() throws {
        var c = ImageClassifierConfig()
        c.dModel = 8; c.layers = 2; c.dState = 4
        var rng = SeededRNG(seed: 1)
        let model = try ImageClassifier(c, rng: &rng)
        var counts: [ParameterRole: Int] = [:]
        for (name, p) in model.namedParameters {
            let last = String(name.split(separator: ".").last!)
            let expected: ParameterRole
            if name.contains(".kernel.") && ["inv_dt", "A_real", "A_imag", "B"].contains(last) { expected = .ssm }
            else if last == "bias" || name.contains("norm.") || last == "D" { expected = .noDecay }
            else { expected = .weight }
            XCTAssertEqual(p.role, expected, name)
            counts[p.role, default: 0] += 1
        }
        XCTAssertEqual(counts[.ssm], 2 * 2 * 4, "two layers, two axes, four SSM parameters")
        XCTAssertGreaterThan(counts[.noDecay] ?? 0, 0)
        let groups = ParameterGroup.byRole(model.namedParameters, learningRate: 0.01, ssmLearningRate: 0.001, weightDecay: 0.05)
        XCTAssertEqual(groups.map { $0.parameters.count }, [counts[.weight]!, counts[.noDecay]!, counts[.ssm]!])
        XCTAssertEqual(groups.map { $0.weightDecay }, [0.05, 0, 0])
        XCTAssertEqual(groups.map { $0.learningRate }, [0.01, 0.01, 0.001])
    }
}

/// The image classifier with every block and with non-default kernels: checkpoints carry the
/// block and kernel, and reload to the same logits at the training size and another one.
final class ClassifierBlockTests: XCTestCase {
    func testEveryBlockAndKernelRoundTripsThroughACheckpoint() throws {
        let dir = TestSupport.temporaryDirectory("blocks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String?, String)] = [(nil, "dplr"), (nil, "ema"), (nil, "conv"), ("s5", "s4d"), ("mamba", "s4d"), ("gss", "dss")]
        for (block, kernel) in cases {
            var c = ImageClassifierConfig()
            c.classes = 3; c.dModel = 6; c.layers = 1; c.dState = 8; c.trainSize = [8, 8]; c.dropout = 0
            c.block = block
            var k = c.kernelOptions
            k.kernel = kernel; k.initialization = nil
            if !(try KernelRegistry.entry(kernel)).supportsBandlimit { k.bandlimit = nil }
            c.kernelOptions = k
            var rng = SeededRNG(seed: 9)
            let model = try ImageClassifier(c, rng: &rng)
            let url = dir.appendingPathComponent("\(block ?? "s4")-\(kernel).safetensors")
            try ClassifierCheckpoint.save(model, to: url)
            let (loaded, _) = try ClassifierCheckpoint.load(url)
            XCTAssertEqual(loaded.config.block, block)
            XCTAssertEqual(loaded.config.kernelOptions.kernel, kernel)
            for size in [8, 12] {
                let x = TestSupport.randomTensor([2, 1, size, size], rng: &rng)
                let a = Autograd.withoutGradients { model(x).value }, b = Autograd.withoutGradients { loaded(x).value }
                XCTAssertEqual(a.shape, [2, 3])
                XCTAssertTrue(a.data.allSatisfy(\.isFinite), "\(block ?? "s4")/\(kernel) at \(size)")
                assertClose(b, a, atol: 1e-5, "\(block ?? "s4")/\(kernel) at \(size)")
            }
            // Gradients reach every parameter.
            let logits = model(TestSupport.randomTensor([2, 1, 8, 8], rng: &rng))
            logits.sum().backward()
            for (name, p) in model.namedParameters where p.requiresGrad {
                XCTAssertNotNil(p.grad, "\(block ?? "s4")/\(kernel): \(name) got no gradient")
            }
        }
    }

    /// A checkpoint whose configuration names a kernel or value this build does not have is a
    /// clear error naming the field, not a silent default.
    func testUnknownKernelOptionsInACheckpointAreNamed() throws {
        let dir = TestSupport.temporaryDirectory("bad-kernel")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = ImageClassifierConfig()
        c.classes = 2; c.dModel = 4; c.layers = 1; c.dState = 4; c.trainSize = [6, 6]
        var rng = SeededRNG(seed: 1)
        let model = try ImageClassifier(c, rng: &rng)
        let url = dir.appendingPathComponent("m.safetensors")
        try ClassifierCheckpoint.save(model, to: url)
        let file = try SafeTensors.read(url)
        for (from, to, expected) in [("\"d_model\"", "\"kernel\":\"s6\",\"d_model\"", "unknown kernel \"s6\""),
                                     ("\"d_model\"", "\"reparam\":\"tanh\",\"d_model\"", "reparam = tanh: valid: exp, softplus, best"),
                                     ("\"d_model\"", "\"block\":\"rnn\",\"d_model\"", "block = rnn")] {
            var metadata = file.metadata
            metadata["config"] = file.metadata["config"]!.replacingOccurrences(of: from, with: to)
            let badURL = dir.appendingPathComponent("bad.safetensors")
            try SafeTensors.write(file.tensors, metadata: metadata, to: badURL)
            XCTAssertThrowsError(try ClassifierCheckpoint.load(badURL)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        // A NaN weight is named.
        var tensors = file.tensors
        tensors["layers.0.layer.D"]!.data[0] = .nan
        let nanURL = dir.appendingPathComponent("nan.safetensors")
        try SafeTensors.write(tensors, metadata: file.metadata, to: nanURL)
        XCTAssertThrowsError(try ClassifierCheckpoint.load(nanURL)) { error in
            XCTAssertTrue("\(error)".contains("weight 'layers.0.layer.D' holds NaN or infinite values"), "\(error)")
        }
    }

    /// Options are written in snake_case; checkpoints with the earlier camelCase keys still load.
    func testTrainingOptionsKeysAndLegacyKeys() throws {
        var o = TrainingOptions(); o.batchSize = 7; o.learningRate = 0.5; o.flip = false
        let json = String(decoding: try JSONEncoder().encode(o), as: UTF8.self)
        XCTAssertTrue(json.contains("\"batch_size\":7") && json.contains("\"learning_rate\":0.5") && !json.contains("batchSize"), json)
        XCTAssertEqual(try JSONDecoder().decode(TrainingOptions.self, from: Data(json.utf8)), o)
        let legacy = #"{"epochs":3,"batchSize":16,"learningRate":0.02,"ssmLearningRate":0.003,"weightDecay":0.1,"warmupFraction":0.05,"clipNorm":1,"augment":true,"flip":true,"maxShift":1,"seed":9}"#
        let l = try JSONDecoder().decode(TrainingOptions.self, from: Data(legacy.utf8))
        XCTAssertEqual([l.epochs, l.batchSize, l.maxShift], [3, 16, 1]); XCTAssertEqual(l.learningRate, 0.02); XCTAssertEqual(l.seed, 9)
        // Non-finite epoch figures are written as null, not an encoding failure.
        let m = EpochMetrics(epoch: 1, trainLoss: .nan, trainAccuracy: 0.5, validationLoss: .infinity, validationAccuracy: nil, imagesPerSecond: 3, seconds: 1)
        let text = String(decoding: try JSONEncoder().encode(m), as: UTF8.self)
        XCTAssertTrue(text.contains("\"train_loss\":null") && text.contains("\"val_loss\":null"), text)
    }
}
