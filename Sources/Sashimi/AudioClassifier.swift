import Foundation
import SSMCore

/// The configuration of an ``AudioClassifier`` (what its model file records).
public struct AudioClassifierConfig: Codable, Equatable, Sendable {
    public var sampleRate = 8000
    public var quantization = AudioQuantizer()
    public var classNames: [String] = []
    /// Features of the finest tier.
    public var dModel = 32
    /// Pooling factors between tiers (features double at each).
    public var pool = [4, 4, 4]
    public var dState = 32
    /// Samples per training window; any length that is a multiple of `Π pool` classifies.
    public var length = 8192

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate", quantization, classNames = "class_names", dModel = "d_model", pool, dState = "d_state", length
    }

    public var classes: Int { classNames.count }

    public var problems: [String] {
        var p: [String] = []
        if classNames.count < 2 { p.append("class_names must name at least 2 classes, got \(classNames.count)") }
        if classNames.contains(where: { $0.isEmpty }) { p.append("class_names has an empty name") }
        if !(1...1024).contains(dModel) { p.append("d_model must be in 1…1024, got \(dModel)") }
        if pool.count > 6 || pool.contains(where: { !(1...64).contains($0) }) { p.append("pool must be at most 6 factors in 1…64, got \(pool)") }
        if !(2...256).contains(dState) || dState % 2 != 0 { p.append("d_state must be even and in 2…256, got \(dState)") }
        if !(1000...192_000).contains(sampleRate) { p.append("sample_rate must be in 1000…192000, got \(sampleRate)") }
        if length < 1 || length % pool.reduce(1, *) != 0 { p.append("length must be a positive multiple of \(pool.reduce(1, *)), got \(length)") }
        return p
    }
}

/// A small 1-D S4 classifier of quantised audio, the yardstick for generated samples (the SaShiMi
/// paper's automated metrics use such a classifier):
///
///     classes (B, L) → embedding (B, H, L) → [Res(S4, bidirectional) → DownPool(p)] per tier
///                    → Res(S4) → LayerNorm → mean over time → linear → logits (B, classes)
///
/// Features double at each pooling. Parameters: `embedding.weight`, `blocks.i.*`, `pools.i.*`,
/// `final.*`, `norm.*`, `head.*`.
public final class AudioClassifier: Layer {
    public let config: AudioClassifierConfig
    public let embedding: Embedding
    public let blocks: [ResidualBlock]
    public let pools: [DownPool]
    public let final: ResidualBlock
    public let norm: LayerNorm
    public let head: Linear

    public init(_ config: AudioClassifierConfig, rng: inout SeededRNG) {
        precondition(config.problems.isEmpty, "invalid audio classifier: \(config.problems.joined(separator: "; "))")
        self.config = config
        let context = DropoutContext()
        embedding = Embedding(config.quantization.levels, config.dModel, rng: &rng)
        var h = config.dModel
        var b: [ResidualBlock] = [], p: [DownPool] = []
        func s4(_ h: Int, _ rng: inout SeededRNG) -> ResidualBlock {
            let k = S4DKernelConfiguration(features: h, stateSize: config.dState, ssmCopies: 1)
            return ResidualBlock(layer: S4Block(kernel: k, bidirectional: true, rng: &rng), context: context)
        }
        for factor in config.pool {
            b.append(s4(h, &rng))
            p.append(DownPool(features: h, expand: 2, pool: factor, rng: &rng))
            h *= 2
        }
        blocks = b; pools = p
        final = s4(h, &rng)
        norm = LayerNorm(h, axis: 1)
        head = Linear(h, config.classes, rng: &rng)
    }

    public var lengthMultiple: Int { config.pool.reduce(1, *) }

    public var namedParameters: [(String, Variable)] {
        var out = embedding.namedParameters.map { ("embedding." + $0.0, $0.1) }
        for (i, b) in blocks.enumerated() { out += b.namedParameters.map { ("blocks.\(i)." + $0.0, $0.1) } }
        for (i, p) in pools.enumerated() { out += p.namedParameters.map { ("pools.\(i)." + $0.0, $0.1) } }
        out += final.namedParameters.map { ("final." + $0.0, $0.1) }
        out += norm.namedParameters.map { ("norm." + $0.0, $0.1) }
        return out + head.namedParameters.map { ("head." + $0.0, $0.1) }
    }

    /// Logits `(B, classes)` of `(B, L)` input classes, `L` a multiple of ``lengthMultiple``.
    public func logits(_ inputs: [Int], batch: Int) throws -> Variable {
        let l = inputs.count / batch
        var x = try embedding(inputs, shape: [batch, l]).permuted([0, 2, 1])     // (B, H, L)
        for (b, p) in zip(blocks, pools) { x = p.forward(b.forward(x, rate: 1), rate: 1) }
        x = norm(final.forward(x, rate: 1))
        return head(x.mean(axis: 2))                                             // (B, classes)
    }
}

extension AudioClassifier: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] {
        blocks.enumerated().flatMap { i, b in kernels(of: b, prefix: "blocks.\(i)") } + kernels(of: final, prefix: "final")
    }
}
