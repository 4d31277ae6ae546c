import Foundation
import S4ND
import SSMCore

/// Options of ``ClassifierTrainer``.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs: Int = 10
    public var batchSize: Int = 32
    /// Peak learning rate of the non-SSM parameters (AdamW).
    public var learningRate: Float = 0.01
    /// Peak learning rate of the SSM kernel parameters (`inv_dt`, `A_real`, `A_imag`, `B`), which get no weight decay.
    public var ssmLearningRate: Float = 0.001
    public var weightDecay: Float = 0.05
    /// Linear warm-up length, as a fraction of all steps.
    public var warmupFraction: Float = 0.05
    /// Global gradient-norm clipping (0 = off).
    public var clipNorm: Float = 1.0
    /// Random horizontal flips and shifts of up to `maxShift` pixels (clips: the same for every
    /// frame), and for clips stored with more frames than the model takes, a random temporal phase.
    public var augment: Bool = true
    /// Horizontal flips (off when mirroring changes the class, e.g. left vs right motion).
    public var flip: Bool = true
    public var maxShift: Int = 2
    public var seed: UInt64 = 0
    public init() {}

    /// Written in snake_case, like the model configuration.
    enum CodingKeys: String, CodingKey {
        case epochs, batchSize = "batch_size", learningRate = "learning_rate", ssmLearningRate = "ssm_learning_rate"
        case weightDecay = "weight_decay", warmupFraction = "warmup_fraction", clipNorm = "clip_norm"
        case augment, flip, maxShift = "max_shift", seed
    }

    /// The camelCase keys of checkpoints written before the options went snake_case.
    enum LegacyKeys: String, CodingKey {
        case batchSize, learningRate, ssmLearningRate, weightDecay, warmupFraction, clipNorm, maxShift
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let old = try decoder.container(keyedBy: LegacyKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ legacy: LegacyKeys?, _ fallback: T) throws -> T {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { return v }
            if let legacy, let v = try old.decodeIfPresent(T.self, forKey: legacy) { return v }
            return fallback
        }
        let d = TrainingOptions()
        epochs = try value(.epochs, nil, d.epochs)
        batchSize = try value(.batchSize, .batchSize, d.batchSize)
        learningRate = try value(.learningRate, .learningRate, d.learningRate)
        ssmLearningRate = try value(.ssmLearningRate, .ssmLearningRate, d.ssmLearningRate)
        weightDecay = try value(.weightDecay, .weightDecay, d.weightDecay)
        warmupFraction = try value(.warmupFraction, .warmupFraction, d.warmupFraction)
        clipNorm = try value(.clipNorm, .clipNorm, d.clipNorm)
        augment = try value(.augment, nil, d.augment)
        flip = try value(.flip, nil, d.flip)
        maxShift = try value(.maxShift, .maxShift, d.maxShift)
        seed = try value(.seed, nil, d.seed)
    }
}

/// One progress report (per step).
public struct TrainingProgress: Sendable {
    public var epoch: Int, epochs: Int
    public var step: Int, stepsPerEpoch: Int
    /// Running means over the epoch so far.
    public var loss: Float, accuracy: Float
    public var imagesPerSecond: Double
    public var secondsLeftInEpoch: Double
}

/// Metrics of one finished epoch.
public struct EpochMetrics: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Float
    public var trainAccuracy: Float
    public var validationLoss: Float?
    public var validationAccuracy: Float?
    public var imagesPerSecond: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, trainLoss = "train_loss", trainAccuracy = "train_accuracy", validationLoss = "val_loss"
        case validationAccuracy = "val_accuracy", imagesPerSecond = "images_per_s", seconds
    }

    /// JSON has no NaN: a non-finite figure is written as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func put(_ v: Float?, _ k: CodingKeys) throws {
            if let v, v.isFinite { try c.encode(v, forKey: k) } else { try c.encodeNil(forKey: k) }
        }
        try c.encode(epoch, forKey: .epoch)
        try put(trainLoss, .trainLoss); try put(trainAccuracy, .trainAccuracy)
        try put(validationLoss, .validationLoss); try put(validationAccuracy, .validationAccuracy)
        try c.encode(imagesPerSecond.isFinite ? imagesPerSecond : 0, forKey: .imagesPerSecond)
        try c.encode(seconds, forKey: .seconds)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        trainLoss = try c.decodeIfPresent(Float.self, forKey: .trainLoss) ?? .nan
        trainAccuracy = try c.decodeIfPresent(Float.self, forKey: .trainAccuracy) ?? .nan
        validationLoss = try c.decodeIfPresent(Float.self, forKey: .validationLoss)
        validationAccuracy = try c.decodeIfPresent(Float.self, forKey: .validationAccuracy)
        imagesPerSecond = try c.decode(Double.self, forKey: .imagesPerSecond)
        seconds = try c.decode(Double.self, forKey: .seconds)
    }

    public init(epoch: Int, trainLoss: Float, trainAccuracy: Float, validationLoss: Float?, validationAccuracy: Float?,
                imagesPerSecond: Double, seconds: Double) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss; self.validationAccuracy = validationAccuracy
        self.imagesPerSecond = imagesPerSecond; self.seconds = seconds
    }
}

/// Trains an ``ImageClassifier`` on an in-memory data set with AdamW, a cosine schedule with warm-up,
/// gradient clipping and flip/shift augmentation, writing a resumable checkpoint after every epoch.
public final class ClassifierTrainer {
    public let model: ImageClassifier
    public let options: TrainingOptions
    let optimizer: AdamW
    public private(set) var rng: SeededRNG
    public private(set) var epoch = 0
    public private(set) var step = 0
    public private(set) var history: [EpochMetrics] = []

    public init(model: ImageClassifier, options: TrainingOptions) throws {
        self.model = model
        self.options = options
        // SSM parameters (marked by their kernels) get their own rate and no decay; norms, biases and D no decay.
        optimizer = try AdamW(groups: ParameterGroup.byRole(model.namedParameters, learningRate: options.learningRate,
                                                            ssmLearningRate: options.ssmLearningRate, weightDecay: options.weightDecay))
        rng = SeededRNG(seed: options.seed)
    }

    /// Restores optimiser state, RNG, epoch, step and history from a training checkpoint.
    public func resume(from file: SafeTensorsFile, path: String) throws {
        do { try ModelFile.restoreOptimizer(optimizer, from: file) } catch {
            throw ClassifierCheckpoint.LoadError.weights(path, "cannot resume: \(error)")
        }
        guard let e = file.metadata["epoch"].flatMap(Int.init), let s = file.metadata["step"].flatMap(Int.init),
              let r = ModelFile.decodeRNG(file.metadata["rng"]) else {
            throw ClassifierCheckpoint.LoadError.weights(path, "cannot resume: not a training checkpoint (no epoch/step/rng metadata)")
        }
        epoch = e; step = s
        rng = r
        if let h = file.metadata["history"] { history = (try? JSONDecoder().decode([EpochMetrics].self, from: Data(h.utf8))) ?? [] }
    }

    /// Writes model + optimiser + position atomically.
    public func saveCheckpoint(to url: URL) throws {
        try ClassifierCheckpoint.save(model, to: url, extraTensors: ModelFile.optimizerTensors(optimizer), extraMetadata: [
            "epoch": String(epoch), "step": String(step), "rng": ModelFile.encode(rng),
            "options": String(decoding: try JSONEncoder.sorted.encode(options), as: UTF8.self),
            "history": String(decoding: try JSONEncoder.sorted.encode(history), as: UTF8.self),
        ])
    }

    /// Checked after every step; when it returns `true` training stops with
    /// ``TrainingInterrupted`` (the last epoch's checkpoint is left as it is).
    public var shouldStop: () -> Bool = { false }

    /// Trains from the current epoch to `options.epochs`. After each epoch: validation, then
    /// `checkpoint` (if given) is written atomically, then `onEpoch` is called.
    public func run(train: ImageDataset, validation: ImageDataset?, checkpoint: URL?,
                    progress: (TrainingProgress) -> Void, onEpoch: (EpochMetrics) -> Void) throws {
        try runEpochs(options.epochs - epoch, train: train, validation: validation, checkpoint: checkpoint,
                      progress: progress, onEpoch: onEpoch)
    }

    /// Trains at most `count` more epochs of the `options.epochs` schedule (for stopping early and resuming).
    public func runEpochs(_ count: Int, train: ImageDataset, validation: ImageDataset?, checkpoint: URL?,
                          progress: (TrainingProgress) -> Void = { _ in }, onEpoch: (EpochMetrics) -> Void = { _ in }) throws {
        let B = options.batchSize
        let stepsPerEpoch = (train.count + B - 1) / B
        let schedule = CosineSchedule(warmupSteps: Int(Float(stepsPerEpoch * options.epochs) * options.warmupFraction),
                                      totalSteps: stepsPerEpoch * options.epochs)
        let last = min(options.epochs, epoch + count)
        while epoch < last {
            var order = Array(0..<train.count)
            order.shuffle(using: &rng)
            var lossSum = 0.0, correct = 0, seen = 0
            let start = Date()
            for s in 0..<stepsPerEpoch {
                let idx = order[(s * B)..<min(order.count, (s + 1) * B)]
                var (x, labels) = train.batch(idx, phase: options.augment ? { Int(self.rng.next() >> 33) } : nil)
                if options.augment { augment(&x) }
                let logits = withUnsafeMutablePointer(to: &rng) { r in model(x, training: true, rng: r) }
                let (loss, probs) = try softmaxCrossEntropy(logits: logits, labels: labels)
                // A non-finite loss would poison the weights: stop before the update.
                guard loss.value.scalar.isFinite else {
                    throw TrainingDiverged(epoch: epoch + 1, step: s + 1, completedEpochs: epoch)
                }
                loss.backward()
                if options.clipNorm > 0 { _ = clipGradientNorm(model.parameters, maxNorm: options.clipNorm) }
                optimizer.step(learningRateMultiplier: schedule.multiplier(at: step + 1))
                optimizer.zeroGrad()
                step += 1
                lossSum += Double(loss.value.scalar) * Double(labels.count)
                correct += Self.correctCount(probs, labels)
                seen += labels.count
                let elapsed = Date().timeIntervalSince(start)
                progress(TrainingProgress(epoch: epoch + 1, epochs: options.epochs, step: s + 1, stepsPerEpoch: stepsPerEpoch,
                                          loss: Float(lossSum / Double(seen)), accuracy: Float(correct) / Float(seen),
                                          imagesPerSecond: Double(seen) / max(elapsed, 1e-9),
                                          secondsLeftInEpoch: elapsed / Double(s + 1) * Double(stepsPerEpoch - s - 1)))
                if shouldStop() { throw TrainingInterrupted(epoch: epoch + 1, step: s + 1, completedEpochs: epoch) }
            }
            let seconds = Date().timeIntervalSince(start)
            var metrics = EpochMetrics(epoch: epoch + 1, trainLoss: Float(lossSum / Double(seen)),
                                       trainAccuracy: Float(correct) / Float(seen), validationLoss: nil, validationAccuracy: nil,
                                       imagesPerSecond: Double(seen) / seconds, seconds: seconds)
            if let validation {
                let r = try Evaluation.evaluate(model, on: validation, batchSize: 128)
                metrics.validationLoss = r.loss
                metrics.validationAccuracy = r.accuracy
            }
            epoch += 1
            history.append(metrics)
            if let checkpoint { try saveCheckpoint(to: checkpoint) }
            onEpoch(metrics)
        }
    }

    static func correctCount(_ probs: Tensor, _ labels: [Int]) -> Int {
        let K = probs.shape.last!
        var c = 0
        for (r, y) in labels.enumerated() {
            var best = 0
            for k in 1..<K where probs.data[r * K + k] > probs.data[r * K + best] { best = k }
            if best == y { c += 1 }
        }
        return c
    }

    /// Random horizontal flip and integer shift (zero fill) per item, in place. `x` `(B, C, H, W)`
    /// or `(B, C, T, H, W)` (one flip and shift for all frames of a clip).
    func augment(_ x: inout Tensor) {
        let (n, h, w) = (x.shape[0], x.shape[x.rank - 2], x.shape[x.rank - 1])
        let c = x.count / (n * h * w)   // planes per item: channels × frames
        let s = options.maxShift
        var tmp = [Float](repeating: 0, count: c * h * w)
        for i in 0..<n {
            let flip = options.flip && rng.next() & 1 == 1
            let dy = s > 0 ? Int(rng.next() % UInt64(2 * s + 1)) - s : 0
            let dx = s > 0 ? Int(rng.next() % UInt64(2 * s + 1)) - s : 0
            if !flip && dx == 0 && dy == 0 { continue }
            let base = i * c * h * w
            for ch in 0..<c {
                for yy in 0..<h {
                    let sy = yy - dy
                    for xx in 0..<w {
                        var sx = xx - dx
                        if flip { sx = w - 1 - sx }
                        tmp[(ch * h + yy) * w + xx] = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? x.data[base + (ch * h + sy) * w + sx] : 0
                    }
                }
            }
            x.data.replaceSubrange(base..<(base + c * h * w), with: tmp)
        }
    }
}

/// Training stopped on request (SIGINT/SIGTERM) during `epoch` after `step` of its steps;
/// `completedEpochs` are in the last checkpoint.
public struct TrainingInterrupted: Error, CustomStringConvertible {
    public var epoch: Int, step: Int, completedEpochs: Int
    public var description: String {
        "interrupted at epoch \(epoch), step \(step) — the checkpoint holds \(completedEpochs) finished epoch(s); continue with --resume"
    }
}

/// The loss became NaN or infinite during `epoch` at `step`; the weights were not updated with it
/// and the last checkpoint (after `completedEpochs` epochs) is kept.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public var epoch: Int, step: Int, completedEpochs: Int
    public var description: String {
        "diverged at epoch \(epoch), step \(step) (the loss is not finite); " +
            (completedEpochs > 0 ? "last good checkpoint kept (\(completedEpochs) finished epoch(s))" : "no checkpoint was written (no epoch had finished)") +
            "; try a lower --lr or --ssm-lr"
    }
}
