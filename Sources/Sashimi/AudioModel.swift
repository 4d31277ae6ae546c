import Foundation
import SSMCore

/// What an audio model file records: the backbone, the sample rate and the quantisation.
public struct AudioModelConfig: Codable, Equatable, Sendable {
    public var backbone = SashimiConfig()
    /// Samples per second of the waveforms the model reads and writes.
    public var sampleRate = 8000
    public var quantization = AudioQuantizer()

    public init() {}

    enum CodingKeys: String, CodingKey { case backbone, sampleRate = "sample_rate", quantization }

    /// Problems, one line each naming the field (empty when the model can be built).
    public var problems: [String] {
        var p = backbone.problems.map { "backbone." + $0 }
        if !(1000...192_000).contains(sampleRate) { p.append("sample_rate must be in 1000…192000, got \(sampleRate)") }
        if !(1...12).contains(quantization.bits) { p.append("quantization.bits must be in 1…12, got \(quantization.bits)") }
        return p
    }
}

/// An autoregressive SaShiMi over quantised audio (the paper's model): an embedding of the
/// `K = 2^bits` classes, the backbone, and a linear head to `K` logits predicting the next sample.
///
///     x (B, L) classes → embedding (B, L, H) → backbone (B, H, L) → head → logits (B, L, K)
///
/// Training input is the target shifted right by one with the silence class in front
/// (``teacherForcingInputs(_:)``), so logit `t` predicts sample `t` from samples `< t`.
/// Parameters: `embedding.weight (K, H)`, `backbone.*` (official SaShiMi keys), `head.weight (K, H)`,
/// `head.bias (K)`.
public final class SashimiAudioModel: Layer {
    public let config: AudioModelConfig
    public let embedding: Embedding
    public let backbone: Sashimi
    public let head: Linear

    public init(_ config: AudioModelConfig, rng: inout SeededRNG) {
        precondition(config.problems.isEmpty, "invalid audio model configuration: \(config.problems.joined(separator: "; "))")
        self.config = config
        let k = config.quantization.levels, h = config.backbone.dModel
        embedding = Embedding(k, h, rng: &rng)
        backbone = Sashimi(config.backbone, rng: &rng)
        head = Linear(h, k, rng: &rng)
    }

    public var classes: Int { config.quantization.levels }
    public var lengthMultiple: Int { backbone.lengthMultiple }

    public var namedParameters: [(String, Variable)] {
        embedding.namedParameters.map { ("embedding." + $0.0, $0.1) }
            + backbone.namedParameters.map { ("backbone." + $0.0, $0.1) }
            + head.namedParameters.map { ("head." + $0.0, $0.1) }
    }

    /// The inputs that predict `targets` `(B, L)` row by row: each row shifted right by one, the
    /// silence class first.
    public func teacherForcingInputs(_ targets: [Int], batch: Int) -> [Int] {
        let l = targets.count / batch
        var x = [Int](repeating: config.quantization.zero, count: targets.count)
        for b in 0..<batch where l > 1 {
            for t in 1..<l { x[b * l + t] = targets[b * l + t - 1] }
        }
        return x
    }

    /// Logits `(B·L, K)` (row `b·L + t`) for input classes `(B, L)`, row-major; `L` a multiple of
    /// ``lengthMultiple``. Throws ``OpError`` for a class outside `0..<K`.
    public func logits(_ inputs: [Int], batch: Int, rate: Float = 1) throws -> Variable {
        let l = inputs.count / batch, h = config.backbone.dModel
        let e = try embedding(inputs, shape: [batch, l])                  // (B, L, H)
        let y = backbone.forward(e.permuted([0, 2, 1]), rate: rate)       // (B, H, L)
        return head(y.permuted([0, 2, 1]).reshaped([batch * l, h]))       // (B·L, K)
    }

    /// Mean negative log-likelihood (nats per sample) of `targets` `(B, L)` under teacher forcing,
    /// and the predicted distributions `(B·L, K)`.
    public func loss(targets: [Int], batch: Int) throws -> (loss: Variable, probabilities: Tensor) {
        let z = try logits(teacherForcingInputs(targets, batch: batch), batch: batch)
        return try softmaxCrossEntropy(logits: z, labels: targets)
    }
}

/// Recurrent mode of a ``SashimiAudioModel`` for `batch` sequences: class in, next-class logits out,
/// one sample per step, no allocation per step. Holds a snapshot of the parameters.
public final class AudioStepper {
    public let batch: Int
    public let classes: Int
    let model: SashimiAudioModel
    let state: any StepState
    let table: StepBuffer
    let x: StepBuffer, y: StepBuffer
    let head: StepAffine
    /// The logits of the last step, `(batch, K)`.
    public let logits: StepBuffer

    /// `weights`: how the step's affine maps store their weights (``StepWeightPrecision``); the
    /// SSM coefficients and all activations stay in Float either way.
    public init(_ model: SashimiAudioModel, batch: Int, weights: StepWeightPrecision = .f32) {
        self.model = model
        self.batch = batch
        classes = model.classes
        let h = model.config.backbone.dModel
        (state, head) = StepAffine.$packing.withValue(weights) {
            (model.backbone.defaultState(batch: batch), StepAffine(weight: model.head.weight.value, bias: model.head.bias?.value))
        }
        table = StepBuffer(copying: model.embedding.weight.value.data)
        x = StepBuffer(batch * h)
        y = StepBuffer(batch * h)
        logits = StepBuffer(batch * classes)
    }

    /// Feeds one class per sequence (`classes.count == batch`, each in `0..<K`) and returns the
    /// logits of the next sample, `(batch, K)` in ``logits``.
    @discardableResult
    public func step(_ input: UnsafeBufferPointer<Int>) -> UnsafeMutablePointer<Float> {
        let h = model.config.backbone.dModel
        precondition(input.count == batch, "one class per sequence")
        for b in 0..<batch {
            let c = input[b]
            precondition(c >= 0 && c < classes, "class \(c) outside 0..<\(classes)")
            (x.pointer + b * h).update(from: table.pointer + c * h, count: h)
        }
        _ = model.backbone.step(x.pointer, into: y.pointer, state: state)
        head.apply(y.pointer, batch: batch, into: logits.pointer)
        return logits.pointer
    }
}

extension SashimiAudioModel: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] { kernels(of: backbone, prefix: "backbone") }
}
