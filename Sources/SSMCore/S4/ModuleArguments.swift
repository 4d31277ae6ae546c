import Foundation

/// Errors from building a module out of official constructor arguments and weights.
public enum OfficialModuleError: Error, Equatable, CustomStringConvertible {
    /// The arguments are not a JSON object.
    case invalidArguments(String)
    case missingArgument(String)
    case wrongType(key: String, expected: String)
    /// A value this implementation does not support (with the reason).
    case unsupportedArgument(key: String, value: String, reason: String)
    /// Keys this implementation does not know.
    case unknownArguments([String])
    case unsupportedModule(String)
    /// Weights that do not fit the module built from the arguments.
    case weights(StateDictError)

    public var description: String {
        switch self {
        case .invalidArguments(let r): return "invalid constructor arguments: \(r)"
        case .missingArgument(let k): return "missing constructor argument '\(k)'"
        case let .wrongType(k, e): return "constructor argument '\(k)' must be \(e)"
        case let .unsupportedArgument(k, v, r): return "unsupported constructor argument \(k)=\(v): \(r)"
        case .unknownArguments(let ks): return "unknown constructor arguments: \(ks.sorted().joined(separator: ", "))"
        case .unsupportedModule(let m): return "unsupported module '\(m)'"
        case .weights(let e): return "weights: \(e)"
        }
    }
}

/// A JSON value (constructor arguments are small JSON objects).
public enum JSONValue: Decodable, Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Compact text of the value (strings unquoted), for messages and comparisons.
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): return s
        case .array(let a): return "[" + a.map { $0.description }.joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\($0): \(o[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
}

/// Official constructor arguments (a JSON object), read with typed accessors that record which
/// keys were used, so unknown keys can be rejected (``finish()``).
public final class ModuleArguments {
    public let values: [String: JSONValue]
    private var used = Set<String>()

    public init(_ values: [String: JSONValue]) { self.values = values }

    /// Parses a JSON object.
    public convenience init(json: String) throws {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) else {
            throw OfficialModuleError.invalidArguments("not valid JSON")
        }
        guard case .object(let dict) = value else { throw OfficialModuleError.invalidArguments("not a JSON object") }
        self.init(dict)
    }

    private func raw(_ key: String) -> JSONValue? {
        used.insert(key)
        guard let v = values[key], v != .null else { return nil }
        return v
    }

    /// Whether `key` is present and not null.
    public func has(_ key: String) -> Bool { values[key] != nil && values[key] != .null }

    /// Whether `key` is present at all (possibly null).
    public func isPresent(_ key: String) -> Bool { values[key] != nil }

    public func int(_ key: String) throws -> Int? {
        guard let v = raw(key) else { return nil }
        if case .number(let d) = v, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw OfficialModuleError.wrongType(key: key, expected: "an integer")
    }
    public func int(_ key: String, default d: Int) throws -> Int { try int(key) ?? d }
    public func requiredInt(_ key: String) throws -> Int {
        guard let v = try int(key) else { throw OfficialModuleError.missingArgument(key) }
        return v
    }

    public func double(_ key: String) throws -> Double? {
        guard let v = raw(key) else { return nil }
        if case .number(let d) = v { return d }
        throw OfficialModuleError.wrongType(key: key, expected: "a number")
    }
    public func double(_ key: String, default d: Double) throws -> Double { try double(key) ?? d }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = raw(key) else { return nil }
        if case .bool(let b) = v { return b }
        throw OfficialModuleError.wrongType(key: key, expected: "true or false")
    }
    public func bool(_ key: String, default d: Bool) throws -> Bool { try bool(key) ?? d }

    public func string(_ key: String) throws -> String? {
        guard let v = raw(key) else { return nil }
        if case .string(let s) = v { return s }
        throw OfficialModuleError.wrongType(key: key, expected: "a string")
    }
    public func string(_ key: String, default d: String) throws -> String { try string(key) ?? d }

    /// An integer or a list of integers (e.g. `l_max`).
    public func ints(_ key: String) throws -> [Int]? {
        guard let v = raw(key) else { return nil }
        let items: [JSONValue]
        if case .array(let a) = v { items = a } else { items = [v] }
        return try items.map {
            guard case .number(let d) = $0, d == d.rounded(), abs(d) < 1e15 else {
                throw OfficialModuleError.wrongType(key: key, expected: "an integer or a list of integers")
            }
            return Int(d)
        }
    }

    /// Marks keys as understood without reading them (options that do not change inference, or
    /// only shape an initialisation that loaded weights replace).
    public func accept(_ keys: [String]) { used.formUnion(keys) }

    /// Requires `key`, if present, to be one of `allowed` (compared as ``JSONValue/description``).
    public func expect(_ key: String, in allowed: [String], reason: String) throws {
        used.insert(key)
        guard let v = values[key] else { return }
        if !allowed.contains(v.description) {
            throw OfficialModuleError.unsupportedArgument(key: key, value: v.description, reason: reason)
        }
    }

    /// Throws if any key was never read, accepted or checked.
    public func finish() throws {
        let unknown = values.keys.filter { !used.contains($0) }
        if !unknown.isEmpty { throw OfficialModuleError.unknownArguments(unknown) }
    }
}
