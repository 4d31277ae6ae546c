import Foundation

/// The contents of a safetensors file: named tensors (converted to `Float`) and the
/// `__metadata__` string map.
public struct SafeTensorsFile: Sendable, Equatable {
    public var tensors: [String: Tensor]
    public var metadata: [String: String]
    /// The element type each tensor is stored as in the file it was read from (empty for contents
    /// built in memory, which are written as `F32`). A reader that expects floating-point weights
    /// checks it: integer bytes converted to `Float` are finite but meaningless as weights.
    public var dtypes: [String: SafeTensorsDType]

    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:], dtypes: [String: SafeTensorsDType] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
        self.dtypes = dtypes
    }

    /// Equal tensors and metadata; ``dtypes`` records how the values were stored, not what they are.
    public static func == (a: SafeTensorsFile, b: SafeTensorsFile) -> Bool {
        a.tensors == b.tensors && a.metadata == b.metadata
    }
}

/// Reading and writing the safetensors format (huggingface/safetensors).
///
/// File layout: `N` as 8 bytes little-endian · `N` bytes of UTF-8 JSON header · byte buffer.
/// Reading validates every rule of the reference implementation (see ``SafeTensorsHeader``) and
/// converts F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL to `Float`. Writing produces `F32` tensors,
/// header keys sorted, the header padded with spaces to a multiple of 8 bytes, written atomically.
///
/// ```swift
/// let file = try SafeTensors.read(URL(fileURLWithPath: "model.safetensors"))
/// let b = file.tensors["layer.kernel.B"]!          // (H, N/2, 2)
/// try SafeTensors.write(["w": b], metadata: ["note": "copy"], to: outURL)
/// ```
public enum SafeTensors {
    /// Reads and validates the file at `url` (memory-mapped, so only the tensors are copied).
    public static func read(_ url: URL, limits: SafeTensorsLimits = .init()) throws -> SafeTensorsFile {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafeTensorsError(source: path, reason: .io("no such file"))
        }
        if isDirectory.boolValue { throw SafeTensorsError(source: path, reason: .io("is a directory, not a safetensors file")) }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(source: path, reason: .io("cannot read file: \(Self.systemMessage(error))"))
        }
        return try decode(data, source: path, limits: limits)
    }

    /// The operating system's reason inside a Foundation file error ("permission denied", as
    /// MediaIO words them), or its description.
    static func systemMessage(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code))).lowercased()
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))).lowercased() }
        return ns.localizedDescription
    }

    /// Decodes and validates a whole safetensors file held in memory. `source` names it in errors.
    public static func decode(_ data: Data, source: String = "<memory>",
                              limits: SafeTensorsLimits = .init()) throws -> SafeTensorsFile {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws -> SafeTensorsFile in
            let header: SafeTensorsHeader
            do {
                header = try SafeTensorsHeader.parse(bytes, limits: limits)
            } catch let reason as SafeTensorsError.Reason {
                throw SafeTensorsError(source: source, reason: reason)
            } catch {
                throw SafeTensorsError(source: source, reason: .io("\(error)"))
            }
            var tensors: [String: Tensor] = [:], dtypes: [String: SafeTensorsDType] = [:]
            tensors.reserveCapacity(header.entries.count)
            for e in header.entries {
                dtypes[e.name] = e.dtype
                let start = header.bufferStart + e.begin
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<(header.bufferStart + e.end)])
                let values = [Float](unsafeUninitializedCapacity: e.elementCount) { out, initialised in
                    e.dtype.convert(raw, into: UnsafeMutableBufferPointer(rebasing: out[0..<e.elementCount]))
                    initialised = e.elementCount
                }
                tensors[e.name] = Tensor(shape: e.shape, data: values)
            }
            return SafeTensorsFile(tensors: tensors, metadata: header.metadata, dtypes: dtypes)
        }
    }

    /// Serialises `tensors` as F32 with `metadata` under `__metadata__`.
    ///
    /// Header: `{"__metadata__": {…}, name: {"dtype": "F32", "shape": […], "data_offsets": [b, e]}, …}`
    /// with metadata keys and tensor names in sorted order, tensors stored in that order, and the
    /// header padded with spaces so the buffer starts at a multiple of 8 bytes.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        try encode(tensors, metadata: metadata, source: "<memory>")
    }

    /// Writes `tensors` to `url` atomically: a temporary file in the same folder is written,
    /// flushed to disk (`fsync`) and renamed over `url`; on any failure it is removed and `url`
    /// is left untouched.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let data = try encode(tensors, metadata: metadata, source: url.path)
        try AtomicFileWriter.write(data, to: url)
    }

    static func encode(_ tensors: [String: Tensor], metadata: [String: String], source: String) throws -> Data {
        let names = tensors.keys.sorted()
        if names.contains(SafeTensorsHeader.metadataKey) {
            throw SafeTensorsError(source: source, reason: .invalidTensorName(SafeTensorsHeader.metadataKey))
        }
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { HeaderJSON.quoted($0) + ":" + HeaderJSON.quoted(metadata[$0]!) }
            parts.append(HeaderJSON.quoted(SafeTensorsHeader.metadataKey) + ":{" + items.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let bytes = t.count * MemoryLayout<Float>.size
            parts.append(HeaderJSON.quoted(name) + ":{\"dtype\":\"F32\",\"shape\":["
                         + t.shape.map(String.init).joined(separator: ",")
                         + "],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

        var data = Data(count: 8 + header.count + offset)
        data.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) in
            out.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            header.withUnsafeBytes { out.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var position = 8 + header.count
            for name in names {
                let values = tensors[name]!.data
                #if _endian(little)
                values.withUnsafeBytes { src in
                    if src.count > 0 { out.baseAddress!.advanced(by: position).copyMemory(from: src.baseAddress!, byteCount: src.count) }
                }
                #else
                for (k, v) in values.enumerated() {
                    out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: position + 4 * k, as: UInt32.self)
                }
                #endif
                position += values.count * MemoryLayout<Float>.size
            }
        }
        return data
    }
}
