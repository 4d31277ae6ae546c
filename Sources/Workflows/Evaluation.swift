import Foundation
import S4ND
import SSMCore

/// Accuracy, loss and confusion matrix of a classifier on a data set.
public struct EvaluationResult: Codable, Sendable {
    /// Input size used, `[height, width]` or `[frames, height, width]`.
    public var size: [Int]
    public var accuracy: Float
    public var loss: Float
    public var count: Int
    /// `confusion[true][predicted]`.
    public var confusion: [[Int]]
}

public enum Evaluation {
    /// Largest number of grid positions in one evaluation batch.
    public static let maxBatchPositions = 64 * 32 * 32

    /// Evaluates `model` on `data` as given (no resizing) in batches.
    public static func evaluate(_ model: ImageClassifier, on data: ImageDataset, batchSize: Int = 128,
                                progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let K = model.config.classes
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: K), count: K)
        var lossSum = 0.0, correct = 0
        // Batches of at most about 64 × 32 × 32 positions, so that activations stay below glibc's
        // mmap threshold (32 MB at H = 128) and are reused rather than faulted in afresh.
        let positions = data.itemSize.reduce(1, *)
        let perBatch = max(1, min(batchSize, Self.maxBatchPositions / max(positions, 1)))
        var i = 0
        while i < data.count {
            let idx = Array(i..<min(data.count, i + perBatch))
            let (x, labels) = data.batch(idx[...])
            let (loss, probs) = try Autograd.withoutGradients {
                try softmaxCrossEntropy(logits: model(x), labels: labels)
            }
            lossSum += Double(loss.value.scalar) * Double(labels.count)
            for (r, y) in labels.enumerated() {
                var best = 0
                for k in 1..<K where probs.data[r * K + k] > probs.data[r * K + best] { best = k }
                confusion[y][best] += 1
                if best == y { correct += 1 }
            }
            i += idx.count
            progress?(i, data.count)
        }
        return EvaluationResult(size: data.itemSize, accuracy: Float(correct) / Float(max(data.count, 1)),
                                loss: Float(lossSum / Double(max(data.count, 1))), count: data.count, confusion: confusion)
    }
}
