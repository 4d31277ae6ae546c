import Foundation
import Sashimi
import SSMCore

/// Options of ``AudioTrainer`` (snake_case in files).
public struct AudioTrainingOptions: Codable, Equatable, Sendable {
    /// Optimiser steps in all.
    public var steps = 4000
    /// Windows per step.
    public var batchSize = 8
    /// Samples per training window (a multiple of the backbone's pooling product).
    public var length = 8192
    public var learningRate: Float = 0.004
    /// Learning rate of the SSM parameters (no weight decay).
    public var ssmLearningRate: Float = 0.001
    public var weightDecay: Float = 0.01
    public var warmupSteps = 100
    /// Global gradient-norm clipping (0 = off).
    public var clipNorm: Float = 1
    /// Validation (and a JSON line) every this many steps, and at the end.
    public var evalEvery = 250
    /// Training checkpoint every this many steps, and at the end.
    public var checkpointEvery = 250
    public var seed: UInt64 = 0
    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, batchSize = "batch_size", length, learningRate = "lr", ssmLearningRate = "ssm_lr"
        case weightDecay = "weight_decay", warmupSteps = "warmup_steps", clipNorm = "clip_norm"
        case evalEvery = "eval_every", checkpointEvery = "checkpoint_every", seed
    }
}

/// One evaluation during training.
public struct AudioEvaluationRecord: Codable, Sendable {
    public var step: Int
    /// Mean training NLL since the previous record, bits per sample.
    public var trainBitsPerSample: Double
    /// Validation NLL over real (unpadded) samples, bits per sample; nil without validation data.
    public var validationBitsPerSample: Double?
    public var samplesPerSecond: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case step, trainBitsPerSample = "train_bits_per_sample", validationBitsPerSample = "val_bits_per_sample"
        case samplesPerSecond = "samples_per_s", seconds
    }
}

/// Progress of one training step.
public struct AudioTrainingProgress: Sendable {
    public var step: Int, steps: Int
    /// Running mean training NLL since the last evaluation, bits per sample.
    public var bitsPerSample: Double
    public var samplesPerSecond: Double
}

public enum AudioTrainingError: Error, CustomStringConvertible {
    case diverged(step: Int, checkpoint: String?)
    case badOptions(String)

    public var description: String {
        switch self {
        case let .diverged(step, checkpoint):
            return "training diverged at step \(step) (the loss is not finite); " +
                (checkpoint.map { "last good checkpoint kept at \($0); " } ?? "") + "try a lower --lr"
        case .badOptions(let s): return s
        }
    }
}

/// Negative log-likelihood of audio under a model, in bits per sample.
public enum AudioEvaluation {
    /// NLL of one whole clip in bits per sample, scored in independent windows of at most
    /// `window` samples (rounded to the model's length multiple), each given silence before it —
    /// how `ssm score` and `ssm batch` score a file.
    public static func bitsPerSample(_ model: SashimiAudioModel, clip: AudioClip, window: Int = 32768) throws -> (bits: Double, samples: Int) {
        let multiple = model.lengthMultiple
        let step = max(multiple, window / multiple * multiple)
        let padded = min(step, (clip.classes.count + multiple - 1) / multiple * multiple)
        let windows = AudioDataset(clips: [clip], sampleRate: model.config.sampleRate, quantizer: model.config.quantization)
            .evaluationWindows(length: padded)
        return try bitsPerSample(model, windows: windows, batchSize: 4)
    }

    /// NLL over the real samples of `windows` (padding excluded), batched `batchSize` at a time,
    /// convolution mode without gradients. Returns bits per sample and the number of samples.
    public static func bitsPerSample(_ model: SashimiAudioModel, windows: [(classes: [Int], valid: Int)],
                                     batchSize: Int = 8) throws -> (bits: Double, samples: Int) {
        var total = 0.0, count = 0
        let k = model.classes
        var scratch = [Float](repeating: 0, count: k)
        var start = 0
        while start < windows.count {
            let part = windows[start..<min(windows.count, start + batchSize)]
            let l = part.first!.classes.count
            let targets = part.flatMap { $0.classes }
            let z = try Autograd.withoutGradients { try model.logits(model.teacherForcingInputs(targets, batch: part.count), batch: part.count).value }
            z.data.withUnsafeBufferPointer { zp in scratch.withUnsafeMutableBufferPointer { s in
                for (b, w) in part.enumerated() {
                    for t in 0..<w.valid {
                        let row = zp.baseAddress! + (b * l + t) * k
                        let lse = softmaxRow(row, into: s.baseAddress!, count: k)
                        total += lse - Double(row[targets[b * l + t]])
                    }
                    count += w.valid
                }
            }}
            start += batchSize
        }
        return (count > 0 ? total / Foundation.log(2.0) / Double(count) : .nan, count)
    }
}

/// Trains a ``SashimiAudioModel`` on random windows of an ``AudioDataset`` with AdamW, a cosine
/// schedule after a linear warm-up and gradient clipping; validation and resumable checkpoints
/// every few steps. Deterministic for a seed: a run stopped at a checkpoint and resumed gives the
/// same weights as an uninterrupted one.
public final class AudioTrainer {
    public let model: SashimiAudioModel
    public let options: AudioTrainingOptions
    let optimizer: AdamW
    public private(set) var rng: SeededRNG
    public private(set) var step = 0
    public private(set) var history: [AudioEvaluationRecord] = []

    public init(model: SashimiAudioModel, options: AudioTrainingOptions) throws {
        guard options.length > 0, options.length % model.lengthMultiple == 0 else {
            throw AudioTrainingError.badOptions("--length \(options.length) must be a positive multiple of \(model.lengthMultiple) (the product of the pooling factors)")
        }
        self.model = model
        self.options = options
        optimizer = try AdamW(groups: ParameterGroup.byRole(model.namedParameters, learningRate: options.learningRate,
                                                            ssmLearningRate: options.ssmLearningRate, weightDecay: options.weightDecay))
        rng = SeededRNG(seed: options.seed)
    }

    /// Restores optimiser state, RNG, step and history from a training checkpoint.
    public func resume(from file: SafeTensorsFile, path: String) throws {
        do { try ModelFile.restoreOptimizer(optimizer, from: file) } catch {
            throw AudioCheckpoint.LoadError.weights(path, "cannot resume: \(error)")
        }
        guard let s = file.metadata["step"].flatMap(Int.init), let r = ModelFile.decodeRNG(file.metadata["rng"]) else {
            throw AudioCheckpoint.LoadError.weights(path, "cannot resume: not a training checkpoint (no step/rng metadata)")
        }
        step = s
        rng = r
        if let h = file.metadata["history"] { history = (try? JSONDecoder().decode([AudioEvaluationRecord].self, from: Data(h.utf8))) ?? [] }
    }

    public func saveCheckpoint(to url: URL) throws {
        try AudioCheckpoint.save(model, to: url, extraTensors: ModelFile.optimizerTensors(optimizer), extraMetadata: [
            "step": String(step), "rng": ModelFile.encode(rng),
            "options": String(decoding: try JSONEncoder.sorted.encode(options), as: UTF8.self),
            "history": String(decoding: try JSONEncoder.sorted.encode(history), as: UTF8.self),
        ])
    }

    /// Trains until `options.steps` (or `stopAfter` more steps). Checkpoints go to `checkpoint`
    /// (atomically) every `checkpointEvery` steps and at the end; `onEvaluation` is called after
    /// every validation. A non-finite loss stops the run with ``AudioTrainingError/diverged(step:checkpoint:)``
    /// before the bad update is applied.
    public func run(train: AudioDataset, validation: AudioDataset?, checkpoint: URL?, stopAfter: Int? = nil,
                    shouldStop: () -> Bool = { false },
                    progress: (AudioTrainingProgress) -> Void = { _ in },
                    onEvaluation: (AudioEvaluationRecord) -> Void = { _ in }) throws {
        let o = options
        let schedule = CosineSchedule(warmupSteps: o.warmupSteps, totalSteps: o.steps)
        let last = min(o.steps, step + (stopAfter ?? o.steps))
        let validationWindows = validation?.evaluationWindows(length: o.length)
        var nats = 0.0, seen = 0
        var since = Date()
        let context = model.backbone.dropoutContext
        defer { context.training = false }
        while step < last && !shouldStop() {
            let targets = train.randomWindows(batch: o.batchSize, length: o.length, rng: &rng)
            context.training = true
            context.rng = SeededRNG(seed: rng.next())
            let (loss, _) = try model.loss(targets: targets, batch: o.batchSize)
            context.training = false
            let value = loss.value.scalar
            guard value.isFinite else {
                throw AudioTrainingError.diverged(step: step + 1, checkpoint: checkpoint.flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0.path : nil })
            }
            loss.backward()
            if o.clipNorm > 0 { _ = clipGradientNorm(model.parameters, maxNorm: o.clipNorm) }
            optimizer.step(learningRateMultiplier: schedule.multiplier(at: step + 1))
            optimizer.zeroGrad()
            step += 1
            nats += Double(value); seen += 1
            let elapsed = Date().timeIntervalSince(since)
            progress(AudioTrainingProgress(step: step, steps: o.steps, bitsPerSample: nats / Double(seen) / Foundation.log(2.0),
                                           samplesPerSecond: Double(seen * o.batchSize * o.length) / max(elapsed, 1e-9)))
            let finalStep = step == last || step == o.steps
            if step % o.evalEvery == 0 || finalStep {
                var record = AudioEvaluationRecord(step: step, trainBitsPerSample: nats / Double(seen) / Foundation.log(2.0),
                                                   validationBitsPerSample: nil,
                                                   samplesPerSecond: Double(seen * o.batchSize * o.length) / max(elapsed, 1e-9),
                                                   seconds: elapsed)
                if let validationWindows, !validationWindows.isEmpty {
                    record.validationBitsPerSample = try AudioEvaluation.bitsPerSample(model, windows: validationWindows, batchSize: o.batchSize).bits
                }
                history.append(record)
                onEvaluation(record)
                nats = 0; seen = 0; since = Date()
            }
            if let checkpoint, step % o.checkpointEvery == 0 || finalStep { try saveCheckpoint(to: checkpoint) }
        }
    }
}
