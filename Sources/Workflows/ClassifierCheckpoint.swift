import Foundation
import S4ND
import SSMCore

/// Reading and writing S4ND image classifiers as self-describing safetensors files.
///
/// A model file holds the weights under their parameter names and, in `__metadata__`:
/// `format` = `ssm.image-classifier`, `config` = the ``ImageClassifierConfig`` as JSON.
/// A training checkpoint is a model file plus the optimiser state under `optimizer.` keys and the
/// training position (`epoch`, `step`, `rng`, `options`, `history`) in the metadata; it loads as a model too.
public enum ClassifierCheckpoint {
    public static let format = "ssm.image-classifier"

    public enum LoadError: Error, CustomStringConvertible {
        case notAClassifier(String, found: String?)
        case badConfig(String, String)
        case weights(String, String)

        public var description: String {
            switch self {
            case let .notAClassifier(p, f):
                return "\(p): not an image classifier (metadata format is \(f.map { "'\($0)'" } ?? "missing"), expected '\(ClassifierCheckpoint.format)')"
            case let .badConfig(p, why): return "\(p): invalid model configuration: \(why)"
            case let .weights(p, why): return "\(p): \(why)"
            }
        }
    }

    /// Writes `model` (and, for a training checkpoint, `extraTensors` and `extraMetadata`) atomically.
    public static func save(_ model: ImageClassifier, to url: URL, extraTensors: [String: Tensor] = [:],
                            extraMetadata: [String: String] = [:]) throws {
        try ModelFile.save(model, format: format, config: model.config, to: url, extraTensors: extraTensors, extraMetadata: extraMetadata)
    }

    /// Loads a model (from a model file or a training checkpoint).
    public static func load(_ url: URL) throws -> (ImageClassifier, SafeTensorsFile) {
        let file = try SafeTensors.read(url)
        guard file.metadata["format"] == format else {
            throw LoadError.notAClassifier(url.path, found: file.metadata["format"])
        }
        let config: ImageClassifierConfig
        do { config = try ModelFile.config(ImageClassifierConfig.self, of: file) } catch {
            throw LoadError.badConfig(url.path, "\(error)")
        }
        let problems = config.problems
        guard problems.isEmpty else { throw LoadError.badConfig(url.path, problems.joined(separator: "; ")) }
        let weights: [String: Tensor]
        do {
            weights = try ModelFile.weights(file)
            try ModelFile.expect("encoder.weight", shape: [config.dModel, config.inputChannels], in: weights)
            try ModelFile.expect("decoder.weight", shape: [config.classes, config.dModel], in: weights)
        } catch { throw LoadError.weights(url.path, "\(error)") }
        // The parameter names (kernel, block, layers, axes) from the model built with d_model 2.
        var small = config
        small.dModel = 2
        var rng = SeededRNG(seed: 0)
        let miniature: ImageClassifier
        do { miniature = try ImageClassifier(small, rng: &rng) } catch { throw LoadError.badConfig(url.path, "\(error)") }
        do { try ModelFile.expectNames(of: miniature, in: weights) } catch { throw LoadError.weights(url.path, "\(error)") }
        let model: ImageClassifier
        do { model = try ImageClassifier(config, rng: &rng) } catch { throw LoadError.badConfig(url.path, "\(error)") }
        do { try model.load(stateDict: weights) } catch { throw LoadError.weights(url.path, "\(error)") }
        if let name = ModelFile.nonFiniteParameter(model) {
            throw LoadError.weights(url.path, "weight '\(name)' holds NaN or infinite values")
        }
        return (model, file)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
