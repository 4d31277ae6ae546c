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

    /// A problem with a model file's configuration or weights, as one line naming the field or tensor.
    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The model weights of a file (optimiser state left out). Every weight must be stored as
    /// floating point: integer or boolean bytes read as `Float` are finite but are no weights (a
    /// float tensor relabelled `I32` keeps its byte length and would otherwise load).
    static func weights(_ file: SafeTensorsFile) throws -> [String: Tensor] {
        let weights = file.tensors.filter { !$0.key.hasPrefix(optimizerPrefix) }
        if let (name, dtype) = file.dtypes.filter({ weights[$0.key] != nil && !$0.value.isFloatingPoint }).min(by: { $0.key < $1.key }) {
            throw Problem("weight '\(name)' is stored as \(dtype.rawValue); model weights are floating point (F32, F16, BF16 or F64)")
        }
        return weights
    }

    /// Throws the error ``Layer/load(stateDict:prefix:allowUnused:)`` would, when `weights` has no
    /// tensor `name` of `shape`. Loaders check the tensors that fix a model's size this way before
    /// building it: building allocates and initialises every weight, so a configuration that does not
    /// describe the file could otherwise cost gigabytes or minutes before the mismatch shows.
    static func expect(_ name: String, shape: [Int], in weights: [String: Tensor]) throws {
        guard let t = weights[name] else { throw StateDictError.missingKey(name) }
        guard t.shape == shape else { throw StateDictError.shapeMismatch(key: name, expected: shape, found: t.shape) }
    }

    /// Throws the error loading would when the parameter names of `miniature` (the model built small)
    /// are not exactly the weights' names.
    static func expectNames(of miniature: Layer, in weights: [String: Tensor]) throws {
        let names = Set(miniature.namedParameters.map(\.0))
        if let missing = names.subtracting(weights.keys).min() { throw StateDictError.missingKey(missing) }
        let extra = Set(weights.keys).subtracting(names)
        if !extra.isEmpty { throw StateDictError.unexpectedKeys(Array(extra)) }
    }

    /// The configuration in a file's metadata (`config`, JSON), or a ``Problem`` naming the field.
    static func config<C: Decodable>(_ type: C.Type, of file: SafeTensorsFile) throws -> C {
        guard let text = file.metadata["config"] else { throw Problem("the metadata has no \"config\"") }
        let data = Data(text.utf8)
        do {
            return try JSONDecoder().decode(C.self, from: data)
        } catch let e as DecodingError {
            if case .dataCorrupted(let context) = e, context.codingPath.isEmpty {
                guard let json = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) else {
                    throw Problem("the configuration is not valid JSON")
                }
                // Foundation reports a number that does not fit its field (2.5 for an integer, 1e39
                // for a Float) as invalid JSON with no field named: find the number it meant.
                throw Problem(misfit(C.self, json) ?? "the configuration could not be read: \(context.debugDescription)")
            }
            throw Problem(describe(e))
        } catch {
            throw Problem("the configuration could not be read: \(error.localizedDescription)")
        }
    }

    /// The number of `json` that makes decoding `C` fail as "not valid JSON", as a message naming its
    /// field: the first number whose replacement by 0 lets decoding get past it.
    private static func misfit<C: Decodable>(_ type: C.Type, _ json: Any) -> String? {
        func failsOnNumbers(_ value: Any) -> Bool {
            guard let data = try? JSONSerialization.data(withJSONObject: value, options: .fragmentsAllowed) else { return false }
            do { _ = try JSONDecoder().decode(C.self, from: data); return false } catch let e as DecodingError {
                if case .dataCorrupted(let context) = e { return context.codingPath.isEmpty }
                return false
            } catch { return false }
        }
        func isNumber(_ value: Any) -> Bool {
            guard value is NSNumber, let data = try? JSONSerialization.data(withJSONObject: [value]) else { return false }
            let text = String(decoding: data, as: UTF8.self)
            return text != "[true]" && text != "[false]"
        }
        // (path, number) of every number, in document order of the keys.
        func numbers(_ value: Any, _ path: [String]) -> [([String], NSNumber)] {
            if let object = value as? [String: Any] {
                return object.keys.sorted().flatMap { numbers(object[$0]!, path + [$0]) }
            }
            if let array = value as? [Any] {
                return array.indices.flatMap { numbers(array[$0], path + ["[\($0)]"]) }
            }
            return isNumber(value) ? [(path, value as! NSNumber)] : []
        }
        func replacing(_ value: Any, at path: ArraySlice<String>, with new: Any) -> Any {
            guard let key = path.first else { return new }
            if var object = value as? [String: Any], let inner = object[key] {
                object[key] = replacing(inner, at: path.dropFirst(), with: new)
                return object
            }
            if var array = value as? [Any], let i = Int(key.dropFirst().dropLast()), array.indices.contains(i) {
                array[i] = replacing(array[i], at: path.dropFirst(), with: new)
                return array
            }
            return value
        }
        for (path, number) in numbers(json, []) where !failsOnNumbers(replacing(json, at: path[...], with: 0)) {
            let field = path.reduce("") { $0.isEmpty || $1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1 }
            let integer = failsOnNumbers(replacing(json, at: path[...], with: 0.5))
            let value = number.doubleValue
            if integer && value.rounded() != value { return "\"\(field)\" must be an integer, got \(number)" }
            return "\"\(field)\" = \(number) is out of range\(integer ? " for an integer" : "")"
        }
        return nil
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
        func path(_ c: [CodingKey]) -> String {
            c.reduce("") { text, key in
                if let i = key.intValue { return text + "[\(i)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        func kind(_ t: Any.Type) -> String {
            switch t {
            case is Int.Type, is Int32.Type, is Int64.Type, is UInt64.Type: return "an integer"
            case is Float.Type, is Double.Type: return "a number"
            case is String.Type: return "a string"
            case is Bool.Type: return "true or false"
            default:
                let name = "\(t)"
                if name.hasPrefix("Array") { return "an array" }
                if name.hasPrefix("Dictionary") { return "an object" }
                return "of type \(name)"
            }
        }
        switch e {
        case let .keyNotFound(k, ctx): return "missing key \"\(path(ctx.codingPath + [k]))\""
        case let .typeMismatch(t, ctx):
            return ctx.codingPath.isEmpty ? "the configuration is not a JSON object" : "\"\(path(ctx.codingPath))\" must be \(kind(t))"
        case let .valueNotFound(_, ctx): return "\"\(path(ctx.codingPath))\" must not be null"
        case let .dataCorrupted(ctx):
            return ctx.codingPath.isEmpty ? "the configuration is not valid JSON" : "\"\(path(ctx.codingPath))\": \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
