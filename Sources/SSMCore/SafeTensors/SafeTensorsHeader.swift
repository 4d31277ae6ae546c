/// The validated JSON header of a safetensors file.
///
/// Layout of a file: `N` (8 bytes, little-endian u64) · `N` bytes of UTF-8 JSON (possibly padded
/// with trailing spaces) · the byte buffer. The JSON object maps each tensor name to
/// `{"dtype": "F32", "shape": [d0, d1, …], "data_offsets": [begin, end]}` with `[begin, end)`
/// relative to the start of the buffer, plus an optional `"__metadata__"` string→string map.
///
/// Validation follows the reference implementation: sorted by `data_offsets`, the tensors tile the
/// buffer exactly — the first begins at 0, each begins where the previous one ended, the last ends at
/// the end of the file — and each spans exactly `product(shape) × size(dtype)` bytes, computed
/// with overflow checks. Unknown fields inside a tensor entry are ignored, as the reference does.
struct SafeTensorsHeader {
    struct Entry {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var begin: Int
        var end: Int
        var elementCount: Int
    }

    /// Tensors in buffer order.
    var entries: [Entry]
    var metadata: [String: String]
    /// Bytes before the buffer: `8 + N`.
    var bufferStart: Int

    static let metadataKey = "__metadata__"

    /// Parses and validates the header of `bytes`, a whole file.
    static func parse(_ bytes: UnsafeRawBufferPointer, limits: SafeTensorsLimits) throws(SafeTensorsError.Reason) -> SafeTensorsHeader {
        let fileLength = bytes.count
        guard fileLength >= 8 else { throw .truncatedHeaderLength(fileLength: fileLength) }
        let n = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        // Every safetensors header is a JSON object right after the length. When the length is
        // impossible and no object follows, the file is something else (an image, text, …), and
        // its first 8 bytes read as a length say nothing worth reporting.
        let plausible = n <= UInt64(max(limits.maxHeaderBytes, 0)) && n <= UInt64(fileLength - 8)
        if !plausible && (fileLength == 8 || bytes[8] != UInt8(ascii: "{")) {
            throw .notSafeTensors(headerLength: n)
        }
        guard n <= UInt64(max(limits.maxHeaderBytes, 0)) else {
            throw .headerTooLarge(length: n, limit: limits.maxHeaderBytes)
        }
        guard n <= UInt64(fileLength - 8) else { throw .headerBeyondEndOfFile(headerLength: n, fileLength: fileLength) }
        let headerLength = Int(n)
        let bufferStart = 8 + headerLength
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<bufferStart])

        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw .headerNotUTF8 }
        guard headerBytes.first == UInt8(ascii: "{") else { throw .headerNotJSONObject }
        let json: HeaderJSON.Value
        do {
            json = try HeaderJSON.parse(headerBytes)
        } catch HeaderJSON.ParseError.duplicateKey(let key) {
            throw .duplicateKey(key)
        } catch HeaderJSON.ParseError.syntax(let offset, let message) {
            throw .invalidJSON(offset: offset, message: message)
        } catch {
            throw .invalidJSON(offset: 0, message: "\(error)")
        }
        guard case .object(let members) = json else { throw .headerNotJSONObject }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)
        for (name, value) in members {
            if name == metadataKey {
                metadata = try parseMetadata(value)
            } else {
                entries.append(try parseEntry(name: name, value))
            }
        }

        // Tile the buffer: sort by (begin, end), then check contiguity and coverage.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        let bufferLength = fileLength - bufferStart
        var position = 0
        var previous: String?
        for e in entries {
            if e.begin < position {
                throw .overlappingTensors(first: previous ?? "", second: e.name)
            }
            if e.begin > position {
                throw .gapBeforeTensor(name: e.name, expectedBegin: position, begin: e.begin)
            }
            if e.end > bufferLength {
                throw .dataBeyondEndOfFile(name: e.name, end: e.end, bufferLength: bufferLength)
            }
            position = e.end
            previous = e.name
        }
        guard position == bufferLength else { throw .trailingBytes(covered: position, bufferLength: bufferLength) }
        return SafeTensorsHeader(entries: entries, metadata: metadata, bufferStart: bufferStart)
    }

    /// `__metadata__` must be an object whose values are all strings; `null` means no metadata
    /// (the reference reader accepts it the same way).
    private static func parseMetadata(_ value: HeaderJSON.Value) throws(SafeTensorsError.Reason) -> [String: String] {
        if value == .null { return [:] }
        guard case .object(let members) = value else {
            throw .invalidMetadata("expected an object of strings, found \(value.typeName)")
        }
        var out: [String: String] = [:]
        for (key, v) in members {
            guard case .string(let s) = v else {
                throw .invalidMetadata("value of \"\(key)\" is a \(v.typeName), expected a string")
            }
            out[key] = s
        }
        return out
    }

    private static func parseEntry(name: String, _ value: HeaderJSON.Value) throws(SafeTensorsError.Reason) -> Entry {
        guard case .object(let fields) = value else {
            throw .invalidTensorEntry(name: name, message: "expected an object, found \(value.typeName)")
        }
        func field(_ key: String) throws(SafeTensorsError.Reason) -> HeaderJSON.Value {
            guard let v = fields.first(where: { $0.key == key })?.value else {
                throw .invalidTensorEntry(name: name, message: "missing \"\(key)\"")
            }
            return v
        }
        guard case .string(let dtypeName) = try field("dtype") else {
            throw .invalidTensorEntry(name: name, message: "\"dtype\" is not a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw .unsupportedDType(name: name, dtype: dtypeName)
        }
        guard case .array(let dims) = try field("shape") else {
            throw .invalidTensorEntry(name: name, message: "\"shape\" is not an array")
        }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for d in dims {
            guard let v = d.nonNegativeInt else {
                throw .invalidTensorEntry(name: name, message: "\"shape\" entries must be non-negative integers")
            }
            shape.append(v)
        }
        guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw .invalidTensorEntry(name: name, message: "\"data_offsets\" must be two non-negative integers [begin, end]")
        }
        guard begin <= end else { throw .invalidOffsets(name: name, begin: begin, end: end) }

        var count = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .sizeOverflow(name: name) }
            count = c
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else { throw .sizeOverflow(name: name) }
        guard byteCount == end - begin else {
            throw .byteLengthMismatch(name: name, expected: byteCount, actual: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end, elementCount: count)
    }
}
