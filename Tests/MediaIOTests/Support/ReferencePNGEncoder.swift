import Foundation

/// A deliberately simple PNG encoder written from the specification, independent of libpng:
/// every colour type and bit depth, palettes with tRNS, Adam7 interlacing; filter 0 on every row
/// and zlib "stored" (uncompressed) deflate blocks. Used to check the libpng-based decoder.
struct ReferencePNGEncoder {
    enum ColorType: UInt8 { case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6 }

    var width: Int
    var height: Int
    var bitDepth: Int
    var colorType: ColorType
    var interlaced = false
    /// RGB palette entries (palette images).
    var palette: [(UInt8, UInt8, UInt8)] = []
    /// Raw tRNS chunk payload, if any.
    var transparency: [UInt8]? = nil

    var samplesPerPixel: Int {
        switch colorType {
        case .gray, .palette: return 1
        case .grayAlpha: return 2
        case .rgb: return 3
        case .rgba: return 4
        }
    }

    /// `samples` are (H, W, samplesPerPixel) integers below 2^bitDepth (palette indices for palette images).
    func encode(_ samples: [Int]) -> Data {
        precondition(samples.count == width * height * samplesPerPixel)
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [UInt8(bitDepth), colorType.rawValue, 0, 0, interlaced ? 1 : 0])
        out.appendChunk("IHDR", header)
        if colorType == .palette {
            out.appendChunk("PLTE", Data(palette.flatMap { [$0.0, $0.1, $0.2] }))
        }
        if let transparency { out.appendChunk("tRNS", Data(transparency)) }
        out.appendChunk("IDAT", ReferencePNGEncoder.zlibStored(scanlines(samples)))
        out.appendChunk("IEND", Data())
        return out
    }

    /// Filter-0 scanlines of the whole image or of the seven Adam7 passes in order.
    func scanlines(_ samples: [Int]) -> [UInt8] {
        let passes: [(x0: Int, y0: Int, dx: Int, dy: Int)] = interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        var bytes: [UInt8] = []
        for p in passes {
            let xs = Array(stride(from: p.x0, to: width, by: p.dx))
            let ys = Array(stride(from: p.y0, to: height, by: p.dy))
            if xs.isEmpty || ys.isEmpty { continue }
            for y in ys {
                bytes.append(0)  // filter type None
                var bits = BitWriter()
                for x in xs {
                    for s in 0..<samplesPerPixel {
                        bits.write(samples[(y * width + x) * samplesPerPixel + s], bits: bitDepth)
                    }
                }
                bytes.append(contentsOf: bits.finish())
            }
        }
        return bytes
    }

    struct BitWriter {
        var bytes: [UInt8] = []
        var current = 0, used = 0
        mutating func write(_ value: Int, bits: Int) {
            if bits == 16 { bytes.append(UInt8(value >> 8)); bytes.append(UInt8(value & 0xFF)); return }
            if bits == 8 { bytes.append(UInt8(value)); return }
            current = (current << bits) | value
            used += bits
            if used == 8 { bytes.append(UInt8(current)); current = 0; used = 0 }
        }
        mutating func finish() -> [UInt8] {
            if used > 0 { bytes.append(UInt8(current << (8 - used))); current = 0; used = 0 }
            return bytes
        }
    }

    /// A zlib stream of stored deflate blocks (≤ 65,535 bytes each) and the Adler-32 trailer.
    static func zlibStored(_ data: [UInt8]) -> Data {
        var out = Data([0x78, 0x01])
        var offset = 0
        repeat {
            let n = min(65_535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out.append(final)
            out.append(UInt8(n & 0xFF)); out.append(UInt8(n >> 8))
            out.append(UInt8(~n & 0xFF)); out.append(UInt8((~n >> 8) & 0xFF))
            out.append(contentsOf: data[offset..<(offset + n)])
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        out.appendBigEndian((b << 16) | a)
        return out
    }

    static func crc32(_ bytes: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

extension Data {
    mutating func appendBigEndian(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)])
    }

    mutating func appendChunk(_ type: String, _ payload: Data) {
        appendBigEndian(UInt32(payload.count))
        var body = Data(type.utf8)
        body.append(payload)
        append(body)
        appendBigEndian(ReferencePNGEncoder.crc32(body))
    }
}
