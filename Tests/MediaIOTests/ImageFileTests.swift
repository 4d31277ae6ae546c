import Foundation
import MediaIO
import TestSupport
import XCTest

final class ImageFileTests: XCTestCase {
    static let boot = "images/fmnist-0-ankle-boot"

    func sample(_ name: String) -> String { Tools.samples.appendingPathComponent(name).path }

    /// The ankle boot in each committed format: extension, FFmpeg codec, channels and colour type
    /// with `.original`, and whether the format is lossless.
    static let formats: [(ext: String, codec: String, channels: Int, colorType: String, lossless: Bool)] = [
        ("jpg", "mjpeg", 3, "yuv", false),
        ("webp", "webp", 3, "yuv", false),
        ("bmp", "bmp", 3, "palette", true),
        ("tiff", "tiff", 1, "gray", true),
        ("gif", "gif", 3, "palette", true),
        ("pgm", "pgm", 1, "gray", true),
    ]

    func mean(_ values: [Float]) -> Float { values.reduce(0, +) / Float(max(values.count, 1)) }

    func meanAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return mean(zip(a, b).map { abs($0 - $1) })
    }

    /// `ffmpeg` on PATH, or the test is skipped.
    func requireFFmpeg() throws {
        let result = try? TestSupport.runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["ffmpeg", "-version"])
        if result?.status != 0 { throw XCTSkip("ffmpeg is not installed") }
    }

    /// `ffmpeg -i input args… output`, quietly.
    func ffmpeg(_ input: [String], _ output: String, _ arguments: [String] = []) throws {
        _ = try Tools.run("ffmpeg", ["-nostdin", "-v", "error", "-y"] + input + arguments + [output])
    }

    // MARK: - decoding

    /// Every committed format decodes to the PNG's pixels: exactly (within 1/255) when lossless,
    /// closely when lossy; palette formats give RGB planes that each equal the gray PNG.
    func testSamplesDecodeToThePNGsPixels() throws {
        let png = try PNGFile.read(sample(Self.boot + ".png"))
        XCTAssertEqual(png.shape, [1, 28, 28])
        for f in Self.formats {
            let path = sample(Self.boot + "." + f.ext)
            let image = try ImageFile.read(path)
            XCTAssertEqual(image.shape, [f.channels, 28, 28], f.ext)
            let gray = try ImageFile.read(path, mode: .gray)
            XCTAssertEqual(gray.shape, [1, 28, 28], f.ext)
            if f.lossless {
                XCTAssertLessThanOrEqual(maxAbsDifference(gray.pixels, png.pixels).value, 1.0 / 255 + 1e-6, f.ext)
                for c in 0..<image.channels {
                    let plane = Array(image.pixels[(c * 784)..<((c + 1) * 784)])
                    XCTAssertLessThanOrEqual(maxAbsDifference(plane, png.pixels).value, 1.0 / 255 + 1e-6, "\(f.ext) channel \(c)")
                }
            } else {
                let error = meanAbsDifference(gray.pixels, png.pixels)
                XCTAssertLessThan(error, 0.05, f.ext)
                XCTAssertGreaterThan(maxAbsDifference(gray.pixels, png.pixels).value, 0, "\(f.ext): lossy yet identical?")
            }
            XCTAssertGreaterThan(image.pixels.max()!, 0.5, f.ext)
            XCTAssertGreaterThanOrEqual(image.pixels.min()!, 0, f.ext)
            XCTAssertLessThanOrEqual(image.pixels.max()!, 1, f.ext)
        }
    }

    func testColourModes() throws {
        for f in Self.formats {
            let path = sample(Self.boot + "." + f.ext)
            let rgb = try ImageFile.read(path, mode: .rgb)
            XCTAssertEqual(rgb.shape, [3, 28, 28], f.ext)
            let rgba = try ImageFile.read(path, mode: .rgba)
            XCTAssertEqual(rgba.shape, [4, 28, 28], f.ext)
            XCTAssertEqual(Array(rgba.pixels[(3 * 784)...]), [Float](repeating: 1, count: 784), "\(f.ext): opaque")
            XCTAssertEqual(Array(rgba.pixels[0..<(3 * 784)]), rgb.pixels, f.ext)
            if f.lossless {  // gray content: the three planes are equal
                XCTAssertEqual(Array(rgb.pixels[0..<784]), Array(rgb.pixels[784..<1568]), f.ext)
                XCTAssertEqual(Array(rgb.pixels[0..<784]), Array(rgb.pixels[1568...]), f.ext)
            }
        }
    }

    /// The committed 16-bit TIFF equals the 16-bit PNG it was made from.
    func testSixteenBitTIFFSample() throws {
        let png = try PNGFile.read(sample("images/fmnist-13-dress-28x28-gray16.png"))
        let tiff = try ImageFile.read(sample("images/fmnist-13-dress-28x28-gray16.tiff"))
        XCTAssertEqual(tiff.shape, [1, 28, 28])
        XCTAssertEqual(maxAbsDifference(tiff.pixels, png.pixels).value, 0)
        let info = try ImageFile.info(sample("images/fmnist-13-dress-28x28-gray16.tiff"))
        XCTAssertEqual(info.bitDepth, 16)
        XCTAssertEqual(info.colorType, "gray")
        XCTAssertEqual(info.codec, "tiff")
    }

    /// 16-bit TIFF and PGM keep their 16 bits: equal to a 16-bit PNG of the same pixels, including
    /// values no 8-bit sample could hold.
    func testSixteenBitFormatsKeepTheirPrecision() throws {
        try requireFFmpeg()
        let folder = TestSupport.temporaryDirectory("image-16")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Bicubic scaling in 16 bits makes values that are not multiples of 257.
        let cases: [(format: String, files: [String])] = [("gray16le", ["g.tiff", "g.pgm"]), ("rgb48le", ["c.tiff", "c.ppm"])]
        for c in cases {
            let source = ["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-vf",
                          "format=\(c.format),scale=25:19:flags=bicubic", "-pix_fmt", c.format]
            let png = folder.appendingPathComponent(c.files[0] + ".png").path
            try ffmpeg(source, png)
            let reference = try PNGFile.read(png)
            XCTAssertEqual(try PNGFile.info(png).bitDepth, 16)
            XCTAssertTrue(reference.pixels.contains { v in Int((v * 65535).rounded()) % 257 != 0 }, "only 8-bit values")
            for file in c.files {
                let path = folder.appendingPathComponent(file).path
                try ffmpeg(["-i", png], path)  // the encoder's 16-bit format (TIFF little-, PNM big-endian)
                let image = try ImageFile.read(path)
                XCTAssertEqual(image.shape, reference.shape, file)
                XCTAssertEqual(maxAbsDifference(image.pixels, reference.pixels).value, 0, file)
                XCTAssertEqual(try ImageFile.info(path).bitDepth, 16, file)
            }
        }
    }

    /// PNG goes through libpng (16 bits kept), chosen by content: a PNG named `.jpg` is still a PNG.
    func testPNGIsReadByLibpngWhateverItsName() throws {
        let folder = TestSupport.temporaryDirectory("image-png")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sixteen = sample("images/fmnist-13-dress-28x28-gray16.png")
        XCTAssertEqual(try ImageFile.read(sixteen), try PNGFile.read(sixteen))
        XCTAssertEqual(try ImageFile.info(sixteen), try PNGFile.info(sixteen))
        let renamed = folder.appendingPathComponent("boot.jpg").path
        try FileManager.default.copyItem(atPath: sample(Self.boot + ".png"), toPath: renamed)
        XCTAssertEqual(try ImageFile.info(renamed).codec, "png")
        XCTAssertEqual(try ImageFile.read(renamed, mode: .rgb), try PNGFile.read(sample(Self.boot + ".png"), mode: .rgb))
        // … and a JPEG named `.png` is a JPEG.
        let jpegAsPNG = folder.appendingPathComponent("boot.png").path
        try FileManager.default.copyItem(atPath: sample(Self.boot + ".jpg"), toPath: jpegAsPNG)
        XCTAssertEqual(try ImageFile.info(jpegAsPNG).codec, "mjpeg")
        XCTAssertEqual(try ImageFile.read(jpegAsPNG), try ImageFile.read(sample(Self.boot + ".jpg")))
    }

    func testInfo() throws {
        for f in Self.formats {
            let path = sample(Self.boot + "." + f.ext)
            let info = try ImageFile.info(path)
            XCTAssertEqual(info.codec, f.codec, f.ext)
            XCTAssertEqual([info.width, info.height], [28, 28], f.ext)
            XCTAssertEqual(info.channels, f.channels, f.ext)
            XCTAssertEqual(info.channels, try ImageFile.read(path).channels, f.ext)
            XCTAssertEqual(info.bitDepth, 8, f.ext)
            XCTAssertEqual(info.colorType, f.colorType, f.ext)
            XCTAssertFalse(info.interlaced, f.ext)
        }
    }

    /// Colour images made by the ffmpeg tool: lossless formats (BMP, TIFF, PPM, WebP, TGA, QOI, PCX,
    /// SGI, XWD, PAM, Sun raster) equal the PNG made from the same frame (so channel order and range
    /// are right), and every format equals the tool's own conversion to rgb24 and gray to within 1 LSB.
    func testColourFormatsMatchPNGAndTheFFmpegTool() throws {
        try requireFFmpeg()
        let folder = TestSupport.temporaryDirectory("image-colour")
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = ["-f", "lavfi", "-i", "testsrc2=size=40x30", "-frames:v", "1"]
        let png = folder.appendingPathComponent("c.png").path
        try ffmpeg(source, png, ["-pix_fmt", "rgb24"])
        let reference = try PNGFile.read(png)
        XCTAssertEqual(reference.shape, [3, 30, 40])
        let cases: [(file: String, args: [String], lossless: Bool)] = [
            ("c.bmp", ["-pix_fmt", "bgr24"], true),
            ("c.tiff", ["-pix_fmt", "rgb24"], true),
            ("c.ppm", [], true),
            ("c-lossless.webp", ["-lossless", "1"], true),
            ("c.jpg", ["-q:v", "2", "-pix_fmt", "yuvj420p"], false),
            ("c.webp", ["-quality", "90"], false),
            ("c444.jpg", ["-q:v", "2", "-pix_fmt", "yuvj444p"], false),
            ("c.tga", [], true), ("c.qoi", [], true), ("c.pcx", [], true), ("c.sgi", [], true),
            ("c.xwd", [], true), ("c.pam", [], true), ("c.ras", [], true),
        ]
        for c in cases {
            let path = folder.appendingPathComponent(c.file).path
            try ffmpeg(["-i", png], path, c.args)
            let image = try ImageFile.read(path)
            XCTAssertEqual(image.shape, [3, 30, 40], c.file)
            XCTAssertEqual(try MediaProbe.probe(path).kind, .image, c.file)
            if c.lossless {
                XCTAssertEqual(maxAbsDifference(image.pixels, reference.pixels).value, 0, c.file)
            } else {
                XCTAssertLessThan(meanAbsDifference(image.pixels, reference.pixels), 0.05, c.file)
            }
            for gray in [false, true] {
                let ours = try ImageFile.read(path, mode: gray ? .gray : .rgb)
                let raw = try Tools.ffmpeg(path, ["-f", "rawvideo", "-pix_fmt", gray ? "gray" : "rgb24"])
                let channels = gray ? 1 : 3, plane = 30 * 40
                XCTAssertEqual(raw.count, channels * plane, c.file)
                var worst = 0
                for i in 0..<plane {
                    for ch in 0..<channels {
                        worst = max(worst, abs(Int((ours.pixels[ch * plane + i] * 255).rounded()) - Int(raw[i * channels + ch])))
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1, "\(c.file) \(gray ? "gray" : "rgb24"): \(worst) LSB")
            }
        }
    }

    /// Alpha is kept where the format stores it; the alpha channel FFmpeg's GIF and lossless WebP
    /// decoders always produce is dropped when every pixel is opaque.
    func testAlphaChannels() throws {
        try requireFFmpeg()
        let folder = TestSupport.temporaryDirectory("image-alpha")
        defer { try? FileManager.default.removeItem(at: folder) }
        let translucent = ["-f", "lavfi", "-i", "color=c=red@0.5:size=8x6,format=rgba", "-frames:v", "1"]
        let webp = folder.appendingPathComponent("half.webp").path
        try ffmpeg(translucent, webp, ["-lossless", "1"])
        let image = try ImageFile.read(webp)
        XCTAssertEqual(image.shape, [4, 6, 8])
        XCTAssertEqual(image[3, 2, 2], 127.5 / 255, accuracy: 1.0 / 255)
        XCTAssertEqual(image[0, 2, 2], 1, accuracy: 1.0 / 255)
        XCTAssertEqual(try ImageFile.info(webp).channels, 4)
        XCTAssertEqual(try ImageFile.info(webp).colorType, "rgba")

        let tiff = folder.appendingPathComponent("half.tiff").path
        try ffmpeg(translucent, tiff, ["-pix_fmt", "rgba"])
        XCTAssertEqual(try ImageFile.read(tiff).shape, [4, 6, 8])
        XCTAssertEqual(try ImageFile.read(tiff)[3, 0, 0], 127.5 / 255, accuracy: 1.0 / 255)

        // Opaque lossless WebP: FFmpeg decodes it as argb, read as RGB.
        let opaque = folder.appendingPathComponent("opaque.webp").path
        try ffmpeg(["-i", sample(Self.boot + ".png")], opaque, ["-lossless", "1"])
        XCTAssertEqual(try ImageFile.read(opaque).shape, [3, 28, 28])
        XCTAssertEqual(try ImageFile.read(opaque, mode: .gray).pixels, try PNGFile.read(sample(Self.boot + ".png")).pixels)
        XCTAssertEqual(try ImageFile.info(opaque).channels, 3)
        // A TIFF that stores alpha keeps it even when it is opaque.
        let opaqueTIFF = folder.appendingPathComponent("opaque.tiff").path
        try ffmpeg(["-i", sample(Self.boot + ".png")], opaqueTIFF, ["-pix_fmt", "rgba"])
        XCTAssertEqual(try ImageFile.read(opaqueTIFF).shape, [4, 28, 28])
        // Gray + alpha stays two channels.
        let ya = folder.appendingPathComponent("ya.tiff").path
        try ffmpeg(["-f", "lavfi", "-i", "color=c=white@0.25:size=4x4,format=ya8", "-frames:v", "1"], ya, ["-pix_fmt", "ya8"])
        let grayAlpha = try ImageFile.read(ya)
        XCTAssertEqual(grayAlpha.shape, [2, 4, 4])
        XCTAssertEqual(grayAlpha[1, 0, 0], 64.0 / 255, accuracy: 1.5 / 255)
        XCTAssertEqual(try ImageFile.info(ya).colorType, "gray_alpha")
    }

    // MARK: - probing

    func testProbeTellsImagesFromVideos() throws {
        for f in Self.formats {
            let path = sample(Self.boot + "." + f.ext)
            guard case .image(let info) = try MediaProbe.probe(path, validate: true) else {
                XCTFail("\(f.ext): not probed as an image"); continue
            }
            XCTAssertEqual(info, try ImageFile.info(path), f.ext)
            XCTAssertTrue(ImageFile.isStillImage(path), f.ext)
        }
        XCTAssertEqual(try MediaProbe.probe(sample("images/fmnist-13-dress-28x28-gray16.tiff")).kind, .image)
        XCTAssertTrue(ImageFile.isStillImage(sample(Self.boot + ".png")))
        let videos = Tools.sampleFiles("video")
        XCTAssertGreaterThanOrEqual(videos.count, 3)
        for path in videos {
            XCTAssertEqual(try MediaProbe.probe(path).kind, .video, path)
            XCTAssertFalse(ImageFile.isStillImage(path), path)
            assertMediaError(try ImageFile.read(path), file: path, reasons: ["unsupported"])
        }
        XCTAssertEqual(try MediaProbe.probe(sample("audio/speech-hello-22k.wav")).kind, .audio)
        XCTAssertFalse(ImageFile.isStillImage(sample("audio/speech-hello-22k.wav")))
    }

    /// A GIF of several frames is a video (and ImageFile reads its first frame); two JPEGs one after
    /// the other are an MJPEG video.
    func testAnimationsAreVideos() throws {
        try requireFFmpeg()
        let folder = TestSupport.temporaryDirectory("image-anim")
        defer { try? FileManager.default.removeItem(at: folder) }
        let gif = folder.appendingPathComponent("anim.gif").path
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=32x24:rate=5"], gif, ["-frames:v", "3"])
        guard case .video(let info) = try MediaProbe.probe(gif) else { return XCTFail("animated GIF not a video") }
        XCTAssertEqual(info.frames, 3)
        XCTAssertEqual(info.codec, "gif")
        XCTAssertFalse(ImageFile.isStillImage(gif))
        let first = try ImageFile.read(gif)
        XCTAssertEqual(first.shape, [3, 24, 32])
        let clip = try VideoFile.read(gif)
        XCTAssertEqual(clip.frames, 3)
        XCTAssertEqual(maxAbsDifference(clip.frame(0).pixels, first.pixels).value, 0)

        let one = folder.appendingPathComponent("one.gif").path
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=32x24:rate=5"], one, ["-frames:v", "1"])
        XCTAssertEqual(try MediaProbe.probe(one).kind, .image)

        let jpeg = try Data(contentsOf: URL(fileURLWithPath: sample(Self.boot + ".jpg")))
        let two = folder.appendingPathComponent("two.mjpeg").path
        try (jpeg + jpeg).write(to: URL(fileURLWithPath: two))
        guard case .video(let pair) = try MediaProbe.probe(two) else { return XCTFail("two JPEGs not a video") }
        XCTAssertEqual(pair.frames, 2)
        XCTAssertEqual(pair.codec, "mjpeg")
        // Named .jpg, FFmpeg opens the same bytes as one image (image2, one packet): its first picture.
        let twoAsJPEG = folder.appendingPathComponent("two.jpg").path
        try (jpeg + jpeg).write(to: URL(fileURLWithPath: twoAsJPEG))
        XCTAssertEqual(try MediaProbe.probe(twoAsJPEG).kind, .image)
        XCTAssertEqual(try ImageFile.read(twoAsJPEG), try ImageFile.read(sample(Self.boot + ".jpg")))

        // A JPEG with an EXIF thumbnail (a second JPEG inside APP1) is still one image.
        let thumbnail = folder.appendingPathComponent("t.jpg").path
        try ffmpeg(["-f", "lavfi", "-i", "color=c=red:size=8x8"], thumbnail, ["-frames:v", "1"])
        let small = try Data(contentsOf: URL(fileURLWithPath: thumbnail))
        var payload = Data("Exif".utf8) + Data([0, 0, 0x4D, 0x4D, 0, 0x2A, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]) + small
        payload = Data([0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)]) + payload
        let exif = folder.appendingPathComponent("exif.jpg").path
        try (jpeg.prefix(2) + payload + jpeg.dropFirst(2)).write(to: URL(fileURLWithPath: exif))
        XCTAssertEqual(try MediaProbe.probe(exif, validate: true).kind, .image)
        XCTAssertEqual(try ImageFile.read(exif), try ImageFile.read(sample(Self.boot + ".jpg")))
    }

    // MARK: - bad input

    func testBadInputsGiveTypedErrors() throws {
        let folder = TestSupport.temporaryDirectory("image-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ data: Data, _ name: String) throws -> String {
            let path = folder.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let missing = folder.appendingPathComponent("missing.jpg").path
        assertMediaError(try ImageFile.read(missing), file: missing, reasons: ["missing"])
        let empty = try write(Data(), "empty.jpg")
        assertMediaError(try ImageFile.read(empty), file: empty, reasons: ["empty"])
        assertMediaError(try ImageFile.info(empty), file: empty, reasons: ["empty"])
        assertMediaError(try MediaProbe.probe(empty), file: empty, reasons: ["empty"])
        assertMediaError(try ImageFile.read(folder.path), file: folder.path, reasons: ["io"])

        // Text, whatever its name, is not an image.
        for name in ["notes.txt", "notes.jpg", "notes.webp", "notes.gif", "notes"] {
            let text = try write(Data("not a picture at all, only a line of text\n".utf8), name)
            assertMediaError(try ImageFile.read(text), file: text, reasons: ["unsupported"])
            assertMediaError(try ImageFile.info(text), file: text, reasons: ["unsupported"])
            assertMediaError(try MediaProbe.probe(text), file: text, reasons: ["unsupported"])
            XCTAssertFalse(ImageFile.isStillImage(text), name)
        }
        let wav = sample("audio/speech-hello-22k.wav")
        assertMediaError(try ImageFile.read(wav), file: wav, reasons: ["unsupported"])

        // Cut in half: truncated (or corrupt where the format's structure does not say), with the
        // file name in the message; probing with validation says the same.
        for f in Self.formats {
            let data = try Data(contentsOf: URL(fileURLWithPath: sample(Self.boot + "." + f.ext)))
            let half = try write(data.prefix(data.count / 2), "half." + f.ext)
            let reasons: Set<String> = f.ext == "tiff" ? ["corrupt", "truncated"] : ["truncated"]
            assertMediaError(try ImageFile.read(half), file: half, reasons: reasons)
            assertMediaError(try MediaProbe.probe(half, validate: true), file: half, reasons: reasons)
            do { _ = try ImageFile.read(half) } catch { XCTAssertTrue("\(error)".hasPrefix(half + ": "), "\(error)") }
            // The same cut under a name that says nothing about the format.
            let anonymous = try write(data.prefix(data.count / 2), "half-\(f.ext).bin")
            assertMediaError(try ImageFile.read(anonymous), file: anonymous, reasons: ["corrupt", "truncated"])
        }
        // A JPEG missing only its end-of-image marker, which FFmpeg's decoder would accept.
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: sample(Self.boot + ".jpg")))
        let noEOI = try write(jpeg.dropLast(2), "no-eoi.jpg")
        assertMediaError(try ImageFile.read(noEOI), file: noEOI, reasons: ["truncated"])
        // Damage inside a JPEG: corrupt, not unsupported, even where FFmpeg's own probe no longer
        // recognises it (garbage in the Huffman tables) and only the name says JPEG.
        let sos = jpeg.range(of: Data([0xFF, 0xDA]))!.lowerBound
        var garbled = jpeg
        for i in (sos + 20)..<(sos + 60) { garbled[i] = UInt8(truncatingIfNeeded: i &* 37) }
        let garbledPath = try write(garbled, "garbled.jpg")
        assertMediaError(try ImageFile.read(garbledPath), file: garbledPath, reasons: ["corrupt"])
        var tables = jpeg
        let dht = jpeg.range(of: Data([0xFF, 0xC4]))!.lowerBound
        for i in (dht + 5)..<(dht + 25) { tables[i] = i % 2 == 1 ? 0xFF : 0x13 }
        let tablesPath = try write(tables, "tables.jpg")
        assertMediaError(try ImageFile.read(tablesPath), file: tablesPath, reasons: ["corrupt"])
        assertMediaError(try MediaProbe.probe(tablesPath), file: tablesPath, reasons: ["corrupt"])
    }

    func testLimits() throws {
        var small = MediaLimits.default
        small.maxImagePixels = 100
        for f in Self.formats {
            let path = sample(Self.boot + "." + f.ext)
            assertMediaError(try ImageFile.read(path, limits: small), file: path, reasons: ["too_large"])
            assertMediaError(try MediaProbe.probe(path, limits: small, validate: true), file: path, reasons: ["too_large"])
            // The header is still described, without decoding.
            let info = try ImageFile.info(path, limits: small)
            XCTAssertEqual([info.width, info.height, info.channels], [28, 28, f.ext == "tiff" || f.ext == "pgm" ? 1 : f.ext == "jpg" || f.ext == "webp" ? 3 : 4], f.ext)
            do { _ = try ImageFile.read(path, limits: small) } catch let error as MediaError {
                XCTAssertTrue(error.reason.detail.contains("28x28"), "\(error)")
            }
        }
        var exact = MediaLimits.default
        exact.maxImagePixels = 28 * 28
        XCTAssertEqual(try ImageFile.read(sample(Self.boot + ".jpg"), limits: exact).shape, [3, 28, 28])
        var bytes = MediaLimits.default
        bytes.maxFileBytes = 300
        let path = sample(Self.boot + ".bmp")
        assertMediaError(try ImageFile.read(path, limits: bytes), file: path, reasons: ["too_large"])
        assertMediaError(try ImageFile.info(path, limits: bytes), file: path, reasons: ["too_large"])
    }

    /// FFmpeg's log stays silent: decoding damaged and unrecognised files writes nothing to stderr.
    func testNothingIsWrittenToStandardError() throws {
        let folder = TestSupport.temporaryDirectory("image-quiet")
        defer { try? FileManager.default.removeItem(at: folder) }
        var paths: [String] = []
        for f in Self.formats {
            let data = try Data(contentsOf: URL(fileURLWithPath: sample(Self.boot + "." + f.ext)))
            for (k, cut) in [data.count / 2, data.count - 2, 40].enumerated() {
                let path = folder.appendingPathComponent("cut\(k).\(f.ext)").path
                try data.prefix(cut).write(to: URL(fileURLWithPath: path))
                paths.append(path)
            }
        }
        let text = folder.appendingPathComponent("text.jpg").path
        try Data("plain words".utf8).write(to: URL(fileURLWithPath: text))
        paths.append(text)
        let log = folder.appendingPathComponent("stderr.txt").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let saved = dup(2)
        let file = open(log, O_WRONLY)
        XCTAssertGreaterThanOrEqual(file, 0)
        fflush(stderr)
        dup2(file, 2)
        var failures = 0
        for path in paths {
            if (try? ImageFile.read(path)) == nil { failures += 1 }
            _ = try? MediaProbe.probe(path, validate: true)
        }
        fflush(stderr)
        dup2(saved, 2)
        close(file)
        close(saved)
        let written = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(written, "", "FFmpeg wrote to stderr")
        XCTAssertGreaterThanOrEqual(failures, paths.count - Self.formats.count)  // a few cuts of 2 bytes still decode
    }

    /// An animated WebP, which FFmpeg 5.1 cannot decode, is reported as such (should the installed
    /// libavcodec decode it, it is a video like an animated GIF).
    func testAnimatedWebP() throws {
        try requireFFmpeg()
        let folder = TestSupport.temporaryDirectory("image-webp-anim")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("anim.webp").path
        do {
            try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=32x24:rate=5"], path, ["-frames:v", "3", "-c:v", "libwebp_anim"])
        } catch {
            throw XCTSkip("ffmpeg cannot write animated WebP: \(error)")
        }
        do {
            let info = try MediaProbe.probe(path)
            XCTAssertEqual(info.kind, .video, "decodable animated WebP")
        } catch let error as MediaError {
            XCTAssertEqual(error.file, path)
            XCTAssertEqual(error.reason.name, "unsupported", "\(error)")
            XCTAssertTrue(error.reason.detail.contains("animated WebP"), "\(error)")
        }
    }
}
