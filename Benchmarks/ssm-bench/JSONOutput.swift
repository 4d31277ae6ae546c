import Foundation

/// Prints one JSON object, keys in the given order: strings quoted, Doubles with 4 significant
/// digits, everything else as written by `description`.
func emitJSON(_ fields: [(String, Any)]) {
    let parts = fields.map { k, v -> String in
        switch v {
        case let s as String: return "\"\(k)\":\"\(s)\""
        case let d as Double: return "\"\(k)\":\(String(format: "%.4g", d))"
        default: return "\"\(k)\":\(v)"
        }
    }
    print("{" + parts.joined(separator: ",") + "}")
    fflush(stdout)
}
