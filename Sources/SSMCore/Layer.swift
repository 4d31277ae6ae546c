/// A model component that owns trainable parameters.
///
/// Parameter names are the checkpoint keys, relative to the layer (for example `kernel.inv_dt`,
/// `output_linear.0.weight`), so a module tree's keys equal the official PyTorch `state_dict` keys.
/// A container prefixes its children's names with the child's key and a dot.
public protocol Layer: AnyObject {
    /// Every trainable tensor under its checkpoint key, in a stable order.
    var namedParameters: [(String, Variable)] { get }
}

/// Errors from loading weights into a ``Layer``.
public enum StateDictError: Error, Equatable, CustomStringConvertible {
    case missingKey(String)
    case unexpectedKeys([String])
    case shapeMismatch(key: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missingKey(let k): return "missing weight '\(k)'"
        case .unexpectedKeys(let ks): return "unexpected weights: \(ks.sorted().joined(separator: ", "))"
        case let .shapeMismatch(k, e, f): return "weight '\(k)' has shape \(f), expected \(e)"
        }
    }
}

extension Layer {
    /// The parameters as a name → tensor dictionary (a state dict).
    public func stateDict(prefix: String = "") -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (k, v) in namedParameters { d[prefix + k] = v.value }
        return d
    }

    /// Copies weights into this layer's parameters. Strict: every parameter must be present with
    /// its exact shape, and (unless `allowUnused`) no key under `prefix` may be left unused.
    /// Keys outside `prefix` are ignored.
    public func load(stateDict: [String: Tensor], prefix: String = "", allowUnused: Bool = false) throws {
        var used = Set<String>()
        for (k, v) in namedParameters {
            let key = prefix + k
            guard let t = stateDict[key] else { throw StateDictError.missingKey(key) }
            guard t.shape == v.value.shape else {
                throw StateDictError.shapeMismatch(key: key, expected: v.value.shape, found: t.shape)
            }
            v.value = t
            used.insert(key)
        }
        if !allowUnused {
            let extra = stateDict.keys.filter { $0.hasPrefix(prefix) && !used.contains($0) }
            if !extra.isEmpty { throw StateDictError.unexpectedKeys(extra) }
        }
    }

    /// All parameters, for an optimiser.
    public var parameters: [Variable] { namedParameters.map { $0.1 } }
}
