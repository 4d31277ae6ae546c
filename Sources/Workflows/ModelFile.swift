import Foundation
import SSMCore

/// What every model file and training checkpoint of the toolkit shares: the weights under their
/// parameter names, `__metadata__` `format` and `config` (JSON); a training checkpoint adds the
/// optimiser state under `optimizer.` keys and the generator state (`rng`).
enum ModelFile {
    static let optimizerPrefix = "optimizer."

    /// Writes `layer`'s weights, `extraTensors` and the metadata atomically.
    static func save(_ layer: Layer, format: String, config: some Encodable, to url: URL,
                     extraTensors: [String: Tensor] = [:], extraMetadata: [String: String] = [:]) throws {
        var tensors = layer.stateDict()
        for (k, v) in extraTensors { tensors[k] = v }
        var metadata = extraMetadata
        metadata["format"] = format
        metadata["config"] = try String(decoding: JSONEncoder.sorted.encode(config), as: UTF8.self)
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    /// The model weights of a file (optimiser state left out).
    static func weights(_ file: SafeTensorsFile) -> [String: Tensor] {
        file.tensors.filter { !$0.key.hasPrefix(optimizerPrefix) }
    }

    /// The name of the first parameter of `layer` holding NaN or an infinity (checked on every load).
    static func nonFiniteParameter(_ layer: Layer) -> String? {
        layer.namedParameters.first { $0.1.value.data.contains { !$0.isFinite } }?.0
    }

    /// The optimiser state as checkpoint tensors.
    static func optimizerTensors(_ optimizer: AdamW) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in optimizer.stateDict() { out[optimizerPrefix + k] = v }
        return out
    }

    /// Restores the optimiser state saved by ``optimizerTensors(_:)``.
    static func restoreOptimizer(_ optimizer: AdamW, from file: SafeTensorsFile) throws {
        var stripped: [String: Tensor] = [:]
        for (k, v) in file.tensors where k.hasPrefix(optimizerPrefix) { stripped[String(k.dropFirst(optimizerPrefix.count))] = v }
        try optimizer.load(stateDict: stripped)
    }

    /// A generator's state as metadata text, and back.
    static func encode(_ rng: SeededRNG) -> String {
        let s = rng.state
        return "\(s.0),\(s.1),\(s.2),\(s.3)"
    }

    static func decodeRNG(_ text: String?) -> SeededRNG? {
        guard let r = text?.split(separator: ",").compactMap({ UInt64($0) }), r.count == 4 else { return nil }
        return SeededRNG(state: (r[0], r[1], r[2], r[3]))
    }

    /// A decoding error as one line naming the field.
    public static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String { c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch e {
        case let .keyNotFound(k, ctx): return "missing key \"\(path(ctx.codingPath + [k]))\""
        case let .typeMismatch(t, ctx): return "\"\(path(ctx.codingPath))\" must be \(t == Int.self ? "an integer" : "of type \(t)")"
        case let .valueNotFound(_, ctx): return "\"\(path(ctx.codingPath))\" must not be null"
        case let .dataCorrupted(ctx):
            return ctx.codingPath.isEmpty ? "the configuration is not valid JSON" : "\"\(path(ctx.codingPath))\": \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
