import Foundation
import Sashimi
import SSMCore

/// Model files of ``AudioClassifier`` (`format` = `ssm.audio-classifier`).
public enum AudioClassifierFile {
    public static let format = "ssm.audio-classifier"

    public static func save(_ model: AudioClassifier, to url: URL) throws {
        try ModelFile.save(model, format: format, config: model.config, to: url)
    }

    public static func load(_ url: URL) throws -> AudioClassifier {
        let file = try SafeTensors.read(url)
        guard file.metadata["format"] == format else {
            throw AudioCheckpoint.LoadError.badConfig(url.path, "not an audio classifier (metadata format is \(file.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(format)')")
        }
        let config: AudioClassifierConfig
        do { config = try ModelFile.config(AudioClassifierConfig.self, of: file) } catch {
            throw AudioCheckpoint.LoadError.badConfig(url.path, "\(error)")
        }
        var problems = config.problems
        // The quantiser's bits are not checked by the configuration (2^bits embedding rows).
        if !(1...12).contains(config.quantization.bits) { problems.append("quantization.bits must be in 1…12, got \(config.quantization.bits)") }
        guard problems.isEmpty else { throw AudioCheckpoint.LoadError.badConfig(url.path, problems.joined(separator: "; ")) }
        let weights: [String: Tensor]
        do {
            weights = try ModelFile.weights(file)
            let widest = config.pool.reduce(config.dModel) { h, _ in h * 2 }
            try ModelFile.expect("embedding.weight", shape: [config.quantization.levels, config.dModel], in: weights)
            try ModelFile.expect("head.weight", shape: [config.classes, widest], in: weights)
        } catch { throw AudioCheckpoint.LoadError.weights(url.path, "\(error)") }
        var rng = SeededRNG(seed: 0)
        let model = AudioClassifier(config, rng: &rng)
        do { try model.load(stateDict: weights) } catch { throw AudioCheckpoint.LoadError.weights(url.path, "\(error)") }
        if let name = ModelFile.nonFiniteParameter(model) {
            throw AudioCheckpoint.LoadError.weights(url.path, "weight '\(name)' holds NaN or infinite values")
        }
        return model
    }
}

/// Training and use of ``AudioClassifier``, and the SaShiMi paper's automated sample metrics.
public enum AudioClassification {
    /// Class probabilities of each clip of `data` (centred in a window of the model's length), batched.
    public static func probabilities(_ model: AudioClassifier, _ data: AudioDataset, batchSize: Int = 16) throws -> [[Double]] {
        var out: [[Double]] = []
        let l = model.config.length, k = model.config.classes
        var start = 0
        while start < data.count {
            let idx = Array(start..<min(data.count, start + batchSize))
            let x = idx.flatMap { data.centredWindow(of: $0, length: l) }
            let z = try Autograd.withoutGradients { try model.logits(x, batch: idx.count).value }.softmax()
            for r in 0..<idx.count { out.append((0..<k).map { Double(z.data[r * k + $0]) }) }
            start += batchSize
        }
        return out
    }

    /// Inception Score `exp(E_x KL(p(y|x) ‖ p(y)))` (`p(y)` the mean over all samples; the official
    /// `metrics.py` takes it from a random half) and the modified score `exp(E_{x, x′} KL(p(y|x) ‖ p(y|x′)))`
    /// with `x`, `x′` drawn independently (all `n²` ordered pairs: the exact expectation of the
    /// official Monte-Carlo estimate, which draws pairs with replacement).
    public static func inceptionScores(_ p: [[Double]]) -> (inception: Double, modified: Double) {
        let n = p.count, k = p.first?.count ?? 0
        guard n >= 2, k > 0 else { return (.nan, .nan) }
        let eps = 1e-12
        var marginal = [Double](repeating: 0, count: k)
        for row in p { for j in 0..<k { marginal[j] += row[j] / Double(n) } }
        func kl(_ a: [Double], _ b: [Double]) -> Double {
            var s = 0.0
            for j in 0..<k where a[j] > 0 { s += a[j] * (Foundation.log(a[j] + eps) - Foundation.log(b[j] + eps)) }
            return s
        }
        let inception = Foundation.exp(p.reduce(0.0) { $0 + kl($1, marginal) } / Double(n))
        var pairs = 0.0
        for i in 0..<n { for j in 0..<n where i != j { pairs += kl(p[i], p[j]) } }
        return (inception, Foundation.exp(pairs / Double(n * n)))
    }

    /// Trains `model` on `data` labelled by `labels` (class indices) for `epochs` passes of random
    /// windows (AdamW, cosine schedule, clipping); `onEpoch(epoch, train loss, validation accuracy)`.
    public static func train(_ model: AudioClassifier, data: AudioDataset, labels: [Int], validation: (AudioDataset, [Int])?,
                             epochs: Int, batchSize: Int, learningRate: Float, seed: UInt64,
                             progress: (Int, Int, Double) -> Void = { _, _, _ in },
                             onEpoch: (Int, Double, Double?) throws -> Void) throws {
        var rng = SeededRNG(seed: seed)
        let optimizer = try AdamW(groups: ParameterGroup.byRole(model.namedParameters, learningRate: learningRate,
                                                                ssmLearningRate: min(learningRate, 0.001), weightDecay: 0.01))
        let stepsPerEpoch = max(1, data.count / batchSize)
        let schedule = CosineSchedule(warmupSteps: min(100, stepsPerEpoch), totalSteps: stepsPerEpoch * epochs)
        var step = 0
        for epoch in 1...epochs {
            var order = Array(0..<data.count)
            order.shuffle(using: &rng)
            var lossSum = 0.0
            for s in 0..<stepsPerEpoch {
                let idx = order[(s * batchSize)..<min(order.count, (s + 1) * batchSize)]
                var x: [Int] = []
                for i in idx { x += data.randomWindow(of: i, length: model.config.length, rng: &rng) }
                let (loss, _) = try softmaxCrossEntropy(logits: model.logits(x, batch: idx.count), labels: idx.map { labels[$0] })
                guard loss.value.scalar.isFinite else { throw AudioTrainingError.diverged(step: step + 1, checkpoint: nil) }
                loss.backward()
                _ = clipGradientNorm(model.parameters, maxNorm: 1)
                step += 1
                optimizer.step(learningRateMultiplier: schedule.multiplier(at: step))
                optimizer.zeroGrad()
                lossSum += Double(loss.value.scalar)
                progress(s + 1, stepsPerEpoch, lossSum / Double(s + 1))
            }
            var accuracy: Double?
            if let (v, vl) = validation {
                let p = try probabilities(model, v)
                accuracy = Double(zip(p, vl).filter { row, y in row.indices.max { row[$0] < row[$1] } == y }.count) / Double(vl.count)
            }
            try onEpoch(epoch, lossSum / Double(stepsPerEpoch), accuracy)
        }
    }
}
