import CMedia
import Foundation

/// An array read from an IDX file — the format of MNIST and Fashion-MNIST
/// (`train-images-idx3-ubyte`, `…-labels-idx1-ubyte`), optionally gzip-compressed.
///
/// Layout: two zero bytes, a type code (0x08 = UInt8 is the only one these data sets use, and the
/// only one accepted here), the number of dimensions `d`, then `d` big-endian `UInt32` extents,
/// then the elements in row-major order.
public struct IDXArray: Sendable {
    /// Extents, outermost first (e.g. `[10000, 28, 28]`).
    public var shape: [Int]
    /// `shape.product` bytes, row-major.
    public var bytes: [UInt8]

    /// Decompressed size limit (bytes) used by ``read(_:maxBytes:)`` unless overridden: 512 MiB.
    public static let defaultMaxBytes = 512 << 20

    /// Reads `url`, gunzipping when the file starts with the gzip magic number.
    public static func read(_ url: URL, maxBytes: Int = defaultMaxBytes) throws -> IDXArray {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw MediaError(file: path, reason: .missing) }
        let raw: Data
        do { raw = try Data(contentsOf: url) } catch { throw MediaError(file: path, reason: .io("\(FileErrorText.describe(error))")) }
        if raw.isEmpty { throw MediaError(file: path, reason: .empty) }
        let body: [UInt8]
        if raw.count >= 2 && raw[raw.startIndex] == 0x1f && raw[raw.startIndex + 1] == 0x8b {
            body = try gunzip(raw, path: path, maxBytes: maxBytes)
        } else {
            guard raw.count <= maxBytes else { throw MediaError(file: path, reason: .tooLarge("\(raw.count) bytes exceeds the \(maxBytes)-byte limit")) }
            body = [UInt8](raw)
        }
        return try decode(body, path: path)
    }

    /// Parses an uncompressed IDX byte stream.
    public static func decode(_ b: [UInt8], path: String) throws -> IDXArray {
        guard b.count >= 4 else { throw MediaError(file: path, reason: .truncated("IDX header needs 4 bytes, file has \(b.count)")) }
        guard b[0] == 0, b[1] == 0 else { throw MediaError(file: path, reason: .corrupt("not an IDX file (bad magic number)")) }
        guard b[2] == 0x08 else { throw MediaError(file: path, reason: .unsupported("IDX element type 0x\(String(b[2], radix: 16)); only unsigned bytes (0x08) are supported")) }
        let dims = Int(b[3])
        guard dims >= 1 && dims <= 4 else { throw MediaError(file: path, reason: .corrupt("IDX with \(dims) dimensions")) }
        let headerSize = 4 + 4 * dims
        guard b.count >= headerSize else { throw MediaError(file: path, reason: .truncated("IDX header needs \(headerSize) bytes, file has \(b.count)")) }
        var shape: [Int] = []
        var total = 1
        for d in 0..<dims {
            let o = 4 + 4 * d
            let n = Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
            shape.append(n)
            let (p, overflow) = total.multipliedReportingOverflow(by: n)
            guard !overflow else { throw MediaError(file: path, reason: .corrupt("IDX extents \(shape) overflow")) }
            total = p
        }
        guard b.count - headerSize == total else {
            if b.count - headerSize < total {
                throw MediaError(file: path, reason: .truncated("IDX of shape \(shape) needs \(total) data bytes, file has \(b.count - headerSize)"))
            }
            throw MediaError(file: path, reason: .corrupt("IDX of shape \(shape) has \(b.count - headerSize - total) trailing bytes"))
        }
        return IDXArray(shape: shape, bytes: Array(b[headerSize...]))
    }

    /// Inflates a gzip stream with zlib, refusing output beyond `maxBytes`.
    static func gunzip(_ data: Data, path: String, maxBytes: Int) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: zlib window bits with gzip header decoding.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw MediaError(file: path, reason: .io("zlib could not be initialised"))
        }
        defer { inflateEnd(&stream) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: UInt8.self).baseAddress!)
            stream.avail_in = uInt(src.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buf in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = uInt(buf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return buf.count - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_STREAM_END {
                    throw MediaError(file: path, reason: status == Z_BUF_ERROR ? .truncated("gzip stream ends early") : .corrupt("gzip data is corrupt (zlib error \(status))"))
                }
                out.append(contentsOf: chunk[0..<produced])
                if out.count > maxBytes {
                    throw MediaError(file: path, reason: .tooLarge("decompressed size exceeds the \(maxBytes)-byte limit"))
                }
                if status == Z_OK && produced == 0 && stream.avail_in == 0 {
                    throw MediaError(file: path, reason: .truncated("gzip stream ends early"))
                }
            } while status != Z_STREAM_END
        }
        return out
    }
}
