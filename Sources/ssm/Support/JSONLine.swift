import Foundation
import MediaIO

/// A JSON value for ``JSONLine``.
enum JSONValue {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object(JSONLine)
    /// Already-encoded JSON (e.g. a model configuration from its `Codable` form).
    case raw(String)

    var encoded: String {
        switch self {
        case .string(let s): return JSONLine.quote(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(\.encoded).joined(separator: ", ") + "]"
        case .object(let line): return line.text
        case .raw(let text): return text
        case .double(let d):
            guard d.isFinite else { return "null" }
            if d == d.rounded() && abs(d) < 1e15 { return String(Int(d)) }
            // Shortest round-tripping form, at most 9 significant digits.
            let s = String(format: "%.9g", d)
            return s.contains("e") ? s : String(Double(s)!)
        }
    }
}

/// One JSON object on one line, keys in insertion order (as the tools print them).
struct JSONLine {
    private(set) var fields: [(String, JSONValue)] = []

    mutating func add(_ key: String, _ value: JSONValue) { fields.append((key, value)) }
    mutating func add(_ key: String, _ value: String) { add(key, .string(value)) }
    mutating func add(_ key: String, _ value: Int) { add(key, .int(value)) }
    mutating func add(_ key: String, _ value: Double) { add(key, .double(value)) }

    var text: String { "{" + fields.map { "\(JSONLine.quote($0.0)): \($0.1.encoded)" }.joined(separator: ", ") + "}" }

    /// Prints the object and a newline on standard output, flushed (each line reaches a pipe as it is made).
    func print() { Stdout.line(text) }

    /// A JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        // File-name bytes that are not UTF-8 appear as \xHH.
        for scalar in SystemPath.display(s).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// Standard output, flushed line by line; a failed write is a failure (exit 1 with a message on
/// standard error), except a reader that went away (`EPIPE`), which ends the command quietly.
enum Stdout {
    static func line(_ text: String) {
        Swift.print(text)
        flush()
    }

    static func flush() {
        guard fflush(stdout) != 0 || ferror(stdout) != 0 else { return }
        let code = errno
        if code == EPIPE { exit(0) }
        FileHandle.standardError.write(Data("Error: cannot write to standard output: \(String(cString: strerror(code)))\n".utf8))
        exit(1)
    }
}
