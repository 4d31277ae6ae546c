import Foundation
import Sashimi
import SSMCore

/// Reading and writing SaShiMi audio models as self-describing safetensors files.
///
/// A model file holds the weights under their parameter names and, in `__metadata__`:
/// `format` = `ssm.sashimi-audio`, `config` = the ``AudioModelConfig`` as JSON. A training
/// checkpoint adds the optimiser state under `optimizer.` keys and `step`, `rng`, `options`,
/// `history` in the metadata; it loads as a model too.
public enum AudioCheckpoint {
    public static let format = "ssm.sashimi-audio"

    public enum LoadError: Error, CustomStringConvertible {
        case notAnAudioModel(String, found: String?)
        case badConfig(String, String)
        case weights(String, String)

        public var description: String {
            switch self {
            case let .notAnAudioModel(p, f):
                return "\(p): not a SaShiMi audio model (metadata format is \(f.map { "'\($0)'" } ?? "missing"), expected '\(AudioCheckpoint.format)')"
            case let .badConfig(p, why): return "\(p): invalid model configuration: \(why)"
            case let .weights(p, why): return "\(p): \(why)"
            }
        }
    }

    public static func save(_ model: SashimiAudioModel, to url: URL, extraTensors: [String: Tensor] = [:],
                            extraMetadata: [String: String] = [:]) throws {
        try ModelFile.save(model, format: format, config: model.config, to: url, extraTensors: extraTensors, extraMetadata: extraMetadata)
    }

    /// Loads a model (from a model file or a training checkpoint); weights must be finite.
    public static func load(_ url: URL) throws -> (SashimiAudioModel, SafeTensorsFile) {
        let file = try SafeTensors.read(url)
        guard file.metadata["format"] == format else { throw LoadError.notAnAudioModel(url.path, found: file.metadata["format"]) }
        let config: AudioModelConfig
        do { config = try ModelFile.config(AudioModelConfig.self, of: file) } catch {
            throw LoadError.badConfig(url.path, "\(error)")
        }
        let problems = config.problems
        guard problems.isEmpty else { throw LoadError.badConfig(url.path, problems.joined(separator: "; ")) }
        let weights: [String: Tensor]
        do {
            weights = try ModelFile.weights(file)
            let levels = config.quantization.levels, h = config.backbone.dModel
            try ModelFile.expect("embedding.weight", shape: [levels, h], in: weights)
            try ModelFile.expect("head.weight", shape: [levels, h], in: weights)
        } catch { throw LoadError.weights(url.path, "\(error)") }
        // The parameter names (tiers, layers, blocks, kernel) from the model built at its smallest width.
        var small = config
        small.backbone.dModel = config.backbone.nSSM ?? 2
        var rng = SeededRNG(seed: 0)
        if small.problems.isEmpty {
            do { try ModelFile.expectNames(of: SashimiAudioModel(small, rng: &rng), in: weights) } catch {
                throw LoadError.weights(url.path, "\(error)")
            }
        }
        let model = SashimiAudioModel(config, rng: &rng)
        do { try model.load(stateDict: weights) } catch { throw LoadError.weights(url.path, "\(error)") }
        if let name = ModelFile.nonFiniteParameter(model) {
            throw LoadError.weights(url.path, "weight '\(name)' holds NaN or infinite values")
        }
        return (model, file)
    }
}
