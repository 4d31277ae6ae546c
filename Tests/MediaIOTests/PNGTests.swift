import Foundation
import MediaIO
import SSMCore
import TestSupport
import XCTest

final class PNGTests: XCTestCase {
    typealias Encoder = ReferencePNGEncoder

    /// Every colour type × legal bit depth × interlace, with random samples, encoded by the
    /// independent reference encoder and decoded by libpng: values must equal `v / (2^d − 1)`.
    func testEveryColourTypeAndBitDepthMatchesReferenceEncoder() throws {
        let cases: [(Encoder.ColorType, [Int])] = [
            (.gray, [1, 2, 4, 8, 16]), (.rgb, [8, 16]), (.palette, [1, 2, 4, 8]),
            (.grayAlpha, [8, 16]), (.rgba, [8, 16]),
        ]
        var rng = SeededRNG(seed: 11)
        var checked = 0
        for (type, depths) in cases {
            for depth in depths {
                for interlaced in [false, true] {
                    let width = 13, height = 11  // odd sizes exercise partial bytes and all Adam7 passes
                    var encoder = Encoder(width: width, height: height, bitDepth: depth, colorType: type, interlaced: interlaced)
                    let maxValue = (1 << depth) - 1
                    var expectedChannels = encoder.samplesPerPixel
                    if type == .palette {
                        let entries = 1 << min(depth, 8)
                        encoder.palette = (0..<entries).map { _ in
                            (UInt8(rng.next() % 256), UInt8(rng.next() % 256), UInt8(rng.next() % 256))
                        }
                        expectedChannels = 3
                    }
                    let samples = (0..<(width * height * encoder.samplesPerPixel)).map { _ in Int(rng.next() % UInt64(maxValue + 1)) }
                    let data = encoder.encode(samples)
                    let image = try PNGFile.decode(data, name: "case.png")
                    XCTAssertEqual(image.shape, [expectedChannels, height, width], "\(type) \(depth)-bit interlaced \(interlaced)")
                    var expected = [Float](repeating: 0, count: expectedChannels * width * height)
                    let plane = width * height
                    for i in 0..<plane {
                        if type == .palette {
                            let entry = encoder.palette[samples[i]]
                            expected[i] = Float(entry.0) / 255
                            expected[plane + i] = Float(entry.1) / 255
                            expected[2 * plane + i] = Float(entry.2) / 255
                        } else {
                            for c in 0..<expectedChannels {
                                expected[c * plane + i] = Float(samples[i * expectedChannels + c]) / Float(maxValue)
                            }
                        }
                    }
                    let diff = maxAbsDifference(image.pixels, expected)
                    XCTAssertLessThanOrEqual(diff.value, 1e-6, "\(type) \(depth)-bit interlaced \(interlaced): max diff at \(diff.index)")
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 30)
    }

    /// tRNS on a palette gives RGBA with the listed alphas; on gray, the keyed value becomes alpha 0.
    func testTransparencyChunkBecomesAlpha() throws {
        var palette = Encoder(width: 4, height: 1, bitDepth: 8, colorType: .palette)
        palette.palette = [(10, 20, 30), (40, 50, 60), (70, 80, 90)]
        palette.transparency = [0, 128]  // entry 2 stays opaque
        let image = try PNGFile.decode(palette.encode([0, 1, 2, 1]), name: "p.png")
        XCTAssertEqual(image.shape, [4, 1, 4])
        XCTAssertEqual(Array(image.pixels[12..<16]), [0, Float(128) / 255, 1, Float(128) / 255])
        XCTAssertEqual(Array(image.pixels[0..<4]), [10, 40, 70, 40].map { Float($0) / 255 })

        var gray = Encoder(width: 3, height: 1, bitDepth: 8, colorType: .gray)
        gray.transparency = [0, 7]
        let g = try PNGFile.decode(gray.encode([7, 8, 255]), name: "g.png")
        XCTAssertEqual(g.shape, [2, 1, 3])
        XCTAssertEqual(Array(g.pixels[3..<6]), [0, 1, 1])
        XCTAssertEqual(Array(g.pixels[0..<3]), [7, 8, 255].map { Float($0) / 255 })
    }

    /// Every sample PNG equals FFmpeg's own PNG decoder (an independent implementation) exactly.
    func testSamplesMatchFFmpegDecode() throws {
        let files = Tools.sampleFiles("images").filter { $0.hasSuffix(".png") }
        XCTAssertGreaterThanOrEqual(files.count, 12)
        for path in files {
            let info = try PNGFile.info(path)
            let image = try PNGFile.read(path)
            let sixteen = info.bitDepth == 16
            let format: String
            switch image.channels {
            case 1: format = sixteen ? "gray16le" : "gray"
            case 2: format = sixteen ? "ya16le" : "ya8"
            case 3: format = sixteen ? "rgb48le" : "rgb24"
            default: format = sixteen ? "rgba64le" : "rgba"
            }
            let raw = try Tools.ffmpeg(path, ["-f", "rawvideo", "-pix_fmt", format])
            let plane = image.width * image.height, channels = image.channels
            var reference = [Float](repeating: 0, count: channels * plane)
            for i in 0..<plane {
                for c in 0..<channels {
                    let k = i * channels + c
                    reference[c * plane + i] = sixteen
                        ? Float(Int(raw[2 * k]) | Int(raw[2 * k + 1]) << 8) / 65535
                        : Float(raw[k]) / 255
                }
            }
            XCTAssertEqual(raw.count, channels * plane * (sixteen ? 2 : 1), path)
            XCTAssertEqual(maxAbsDifference(image.pixels, reference).value, 0, path)
        }
    }

    /// write → read is bit-exact for 8-bit values (gray, gray+alpha, RGB, RGBA).
    func testWriteReadRoundTripIsExact() throws {
        var rng = SeededRNG(seed: 3)
        let folder = TestSupport.temporaryDirectory("png")
        defer { try? FileManager.default.removeItem(at: folder) }
        for channels in 1...4 {
            let (h, w) = (9, 17)
            let pixels = (0..<(channels * h * w)).map { _ in Float(rng.next() % 256) / 255 }
            let image = Image(channels: channels, height: h, width: w, pixels: pixels)
            let path = folder.appendingPathComponent("rt\(channels).png").path
            try PNGFile.write(image, to: path)
            let back = try PNGFile.read(path)
            XCTAssertEqual(back, image, "\(channels) channels")
            XCTAssertEqual(try PNGFile.info(path).channels, channels)
        }
    }

    func testColourModes() throws {
        // 1×1×2 RGB: luma = 0.299 R + 0.587 G + 0.114 B
        let rgb = Image(channels: 3, height: 1, width: 2, pixels: [1, 0.5, 0, 0.25, 0.2, 1])
        let gray = rgb.converted(to: .gray)
        XCTAssertEqual(gray.shape, [1, 1, 2])
        XCTAssertEqual(gray.pixels[0], 0.299 * 1 + 0.587 * 0 + 0.114 * 0.2, accuracy: 1e-6)
        XCTAssertEqual(gray.pixels[1], 0.299 * 0.5 + 0.587 * 0.25 + 0.114 * 1, accuracy: 1e-6)
        let back = gray.converted(to: .rgb)
        XCTAssertEqual(back.pixels, gray.pixels + gray.pixels + gray.pixels)
        let rgba = gray.converted(to: .rgba)
        XCTAssertEqual(Array(rgba.pixels[6..<8]), [1, 1])
        let path = Tools.samples.appendingPathComponent("images/fmnist-0-ankle-boot.png").path
        XCTAssertEqual(try PNGFile.read(path, mode: .rgb).shape, [3, 28, 28])
        XCTAssertEqual(try PNGFile.read(path, mode: .gray).shape, [1, 28, 28])
    }

    // MARK: - bad input

    func testBadInputsGiveTypedErrors() throws {
        let folder = TestSupport.temporaryDirectory("png-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sample = try Data(contentsOf: Tools.samples.appendingPathComponent("images/fmnist-2-trouser-56x56-rgb.png"))

        let missing = folder.appendingPathComponent("missing.png").path
        assertMediaError(try PNGFile.read(missing), file: missing, reasons: ["missing"])

        let empty = folder.appendingPathComponent("empty.png").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        assertMediaError(try PNGFile.read(empty), file: empty, reasons: ["empty"])

        let text = folder.appendingPathComponent("text.png").path
        try Data("not a picture at all".utf8).write(to: URL(fileURLWithPath: text))
        assertMediaError(try PNGFile.read(text), file: text, reasons: ["unsupported"])

        for cut in [4, 20, 40, sample.count / 2, sample.count - 13] {
            let path = folder.appendingPathComponent("cut\(cut).png").path
            try sample.prefix(cut).write(to: URL(fileURLWithPath: path))
            assertMediaError(try PNGFile.read(path), file: path, reasons: ["truncated"])
        }

        // A flipped byte inside IDAT breaks the chunk CRC: corrupt.
        var flipped = sample
        let idat = flipped.range(of: Data("IDAT".utf8))!.upperBound
        flipped[idat + 10] ^= 0xFF
        let corrupt = folder.appendingPathComponent("corrupt.png").path
        try flipped.write(to: URL(fileURLWithPath: corrupt))
        assertMediaError(try PNGFile.read(corrupt), file: corrupt, reasons: ["corrupt"])

        // A header claiming 60,000 × 60,000 pixels is refused before any allocation.
        let huge = Encoder(width: 60_000, height: 60_000, bitDepth: 8, colorType: .gray).encodeHeaderOnly()
        let hugePath = folder.appendingPathComponent("huge.png").path
        try huge.write(to: URL(fileURLWithPath: hugePath))
        assertMediaError(try PNGFile.read(hugePath), file: hugePath, reasons: ["too_large"])
        XCTAssertEqual(try PNGFile.info(hugePath).width, 60_000)

        // Limits are overridable.
        var small = MediaLimits.default
        small.maxImagePixels = 100
        let sample28 = Tools.samples.appendingPathComponent("images/fmnist-0-ankle-boot.png").path
        assertMediaError(try PNGFile.read(sample28, limits: small), file: sample28, reasons: ["too_large"])
    }
}

extension ReferencePNGEncoder {
    /// Signature, IHDR and an empty IDAT/IEND — enough for a header.
    func encodeHeaderOnly() -> Data {
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [UInt8(bitDepth), colorType.rawValue, 0, 0, 0])
        out.appendChunk("IHDR", header)
        out.appendChunk("IDAT", ReferencePNGEncoder.zlibStored([0]))
        out.appendChunk("IEND", Data())
        return out
    }

    /// A valid PNG of 1 × 40,000,000 pixels is "too large" (the per-side limit), read from its
    /// header before libpng's own "Invalid IHDR data".
    func testHugeSideIsTooLargeNotInvalid() throws {
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let t = Array(type.utf8)
            let n = UInt32(body.count), crc = UInt32(truncatingIfNeeded: zlibCRC(t + body))
            return [UInt8(n >> 24), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] + t + body
                + [UInt8(crc >> 24), UInt8(crc >> 16 & 255), UInt8(crc >> 8 & 255), UInt8(crc & 255)]
        }
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        let png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", be(1) + be(40_000_000) + [8, 0, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + chunk("IEND", [])
        let dir = TestSupport.temporaryDirectory("tall-png")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tall.png").path
        try Data(png).write(to: URL(fileURLWithPath: path))
        for read in [{ _ = try PNGFile.read(path) }, { _ = try PNGFile.info(path) }, { _ = try MediaProbe.probe(path) }] {
            XCTAssertThrowsError(try read()) { e in
                XCTAssertEqual("\(e)", "\(path): too_large: 1x40000000 exceeds the limit of 1048576 pixels per side")
            }
        }
    }

    /// CRC-32 (PNG's, the zlib polynomial).
    private func zlibCRC(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xffff_ffff
    }
}
