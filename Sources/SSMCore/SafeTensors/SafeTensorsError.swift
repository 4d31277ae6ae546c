/// Why a safetensors file could not be read or written.
///
/// Every error names the file (or `"<memory>"` for in-memory buffers) and the reason, e.g.
/// `weights.safetensors: tensor "layer.B": shape [4, 2] × F32 needs 32 bytes, data_offsets span 24`.
public struct SafeTensorsError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file path, or the `source` label given to `SafeTensors.decode`.
    public var source: String
    /// What is wrong.
    public var reason: Reason

    public init(source: String, reason: Reason) {
        self.source = source
        self.reason = reason
    }

    /// The individual rules of the format (and I/O failures).
    public enum Reason: Error, Equatable, Sendable {
        /// The file holds fewer than the 8 bytes of the header-length prefix (0 = empty file).
        case truncatedHeaderLength(fileLength: Int)
        /// The file does not start like a safetensors file: its first 8 bytes, read as the header
        /// length, give an impossible length, and no JSON object follows them.
        case notSafeTensors(headerLength: UInt64)
        /// The declared header length exceeds the limit (100 MB by default).
        case headerTooLarge(length: UInt64, limit: Int)
        /// The declared header extends beyond the end of the file.
        case headerBeyondEndOfFile(headerLength: UInt64, fileLength: Int)
        /// The header bytes are not valid UTF-8.
        case headerNotUTF8
        /// The header does not start with `{`.
        case headerNotJSONObject
        /// The header is not well-formed JSON (`offset` counts bytes from the start of the header).
        case invalidJSON(offset: Int, message: String)
        /// A JSON object in the header repeats a key.
        case duplicateKey(String)
        /// `__metadata__` is not an object of string values.
        case invalidMetadata(String)
        /// A tensor entry is malformed (not an object, missing or mistyped field).
        case invalidTensorEntry(name: String, message: String)
        /// A tensor uses a dtype this reader does not convert.
        case unsupportedDType(name: String, dtype: String)
        /// `shape` product × element size does not fit in `Int`.
        case sizeOverflow(name: String)
        /// `data_offsets` has begin > end.
        case invalidOffsets(name: String, begin: Int, end: Int)
        /// `data_offsets` spans a different number of bytes than shape × dtype size needs.
        case byteLengthMismatch(name: String, expected: Int, actual: Int)
        /// Sorted by begin offset, a tensor starts after the previous one ended (or the first after 0).
        case gapBeforeTensor(name: String, expectedBegin: Int, begin: Int)
        /// Sorted by begin offset, a tensor starts before the previous one ended.
        case overlappingTensors(first: String, second: String)
        /// A tensor's data ends beyond the end of the file.
        case dataBeyondEndOfFile(name: String, end: Int, bufferLength: Int)
        /// The byte buffer continues past the last tensor.
        case trailingBytes(covered: Int, bufferLength: Int)
        /// A tensor name is not allowed when writing (`__metadata__`).
        case invalidTensorName(String)
        /// Reading or writing the file failed.
        case io(String)
    }

    public var description: String { "\(source): \(reason)" }
}

extension SafeTensorsError.Reason: CustomStringConvertible {
    public var description: String {
        switch self {
        case .truncatedHeaderLength(let n):
            return n == 0 ? "empty file (no 8-byte header length)"
                          : "file has \(n) bytes, fewer than the 8-byte header length"
        case .notSafeTensors:
            return "not a safetensors file (it does not start with an 8-byte header length and a JSON header)"
        case .headerTooLarge(let length, let limit):
            return "corrupt header length: the first 8 bytes declare a \(length)-byte header, over the limit of \(limit) bytes"
        case .headerBeyondEndOfFile(let length, let fileLength):
            return "the \(length)-byte header declared by the first 8 bytes reaches beyond the end of the \(fileLength)-byte file (truncated?)"
        case .headerNotUTF8:
            return "header is not valid UTF-8"
        case .headerNotJSONObject:
            return "header does not start with '{' (not a JSON object)"
        case .invalidJSON(let offset, let message):
            return "header is not valid JSON at byte \(offset): \(message)"
        case .duplicateKey(let key):
            return "duplicate key \"\(key)\" in header"
        case .invalidMetadata(let message):
            return "__metadata__: \(message)"
        case .invalidTensorEntry(let name, let message):
            return "tensor \"\(name)\": \(message)"
        case .unsupportedDType(let name, let dtype):
            return "tensor \"\(name)\": unsupported dtype \"\(dtype)\" (supported: "
                + SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case .sizeOverflow(let name):
            return "tensor \"\(name)\": shape × element size overflows"
        case .invalidOffsets(let name, let begin, let end):
            return "tensor \"\(name)\": data_offsets [\(begin), \(end)] has begin > end"
        case .byteLengthMismatch(let name, let expected, let actual):
            return "tensor \"\(name)\": shape × dtype size needs \(expected) bytes, data_offsets span \(actual)"
        case .gapBeforeTensor(let name, let expected, let begin):
            return "tensor \"\(name)\": data begins at \(begin), expected \(expected) (tensors must be contiguous from 0)"
        case .overlappingTensors(let first, let second):
            return "tensors \"\(first)\" and \"\(second)\" overlap"
        case .dataBeyondEndOfFile(let name, let end, let bufferLength):
            return "tensor \"\(name)\": data ends at \(end), beyond the \(bufferLength)-byte buffer (file truncated?)"
        case .trailingBytes(let covered, let bufferLength):
            return "buffer has \(bufferLength) bytes but tensors cover only \(covered)"
        case .invalidTensorName(let name):
            return "tensor name \"\(name)\" is reserved"
        case .io(let message):
            return message
        }
    }
}
