import CMediaShim
import Foundation

/// Still images of any format: PNG through libpng (``PNGFile``, 16-bit samples kept), every other
/// still-image format the installed FFmpeg decodes (JPEG, WebP, BMP, TIFF, GIF, PNM, TGA, QOI, …)
/// through FFmpeg. The format is told by content; only for formats without a signature (TGA, for
/// one) does FFmpeg go by the file name.
///
/// FFmpeg images are decoded to their first frame (the first frame of an animated GIF) and
/// converted with swscale to gray, gray+alpha, RGB or RGBA, 8 bits per sample, or 16 bits when the
/// format stores more than 8. With ``Image/ColorMode/original`` the channels follow the pixel
/// format: gray for gray formats, gray+alpha or RGBA when it has alpha, RGB otherwise. Palette
/// images, GIF and lossless WebP (whose FFmpeg decoders always produce an alpha channel) keep
/// their alpha only when some pixel is not fully opaque.
///
/// ```swift
/// let boot = try ImageFile.read("samples/images/fmnist-0-ankle-boot.jpg", mode: .gray)  // 1×28×28
/// let info = try ImageFile.info("samples/images/fmnist-0-ankle-boot.webp")              // codec "webp"
/// ```
public enum ImageFile {
    /// Decodes the image at `path` into a (C, H, W) image in [0, 1].
    ///
    /// Throws `.unsupported` for content that is no image format (or a video, which ``VideoFile``
    /// reads), `.corrupt` or `.truncated` for damaged data, `.tooLarge` over
    /// ``MediaLimits/maxImagePixels`` (checked before the decoder allocates the picture) or
    /// ``MediaLimits/maxFileBytes``.
    public static func read(_ path: String, mode: Image.ColorMode = .original,
                            limits: MediaLimits = .default) throws -> Image {
        if try isPNG(path, limits: limits) { return try PNGFile.read(path, mode: mode, limits: limits) }
        let still = try StillImage(path: path, limits: limits)
        let format = try still.decodeFirstFrame()
        return try still.convert(format, mode: mode)
    }

    /// Codec, size, channels (as ``read(_:mode:limits:)`` returns them with `.original`), bit
    /// depth and colour type of the image at `path`.
    ///
    /// PNG headers are read by libpng. Other formats are decoded to their first frame (FFmpeg learns
    /// the pixel format from the decoder), so damage in the data is reported here too; an image over
    /// ``MediaLimits/maxImagePixels`` is described from its header without being decoded (palette
    /// images, GIF and lossless WebP then count the alpha channel they may not use).
    /// `colorType` is `gray`, `gray_alpha`, `rgb`, `rgba`, `palette` (PNG palette images, GIF, pal8
    /// formats), `yuv` or `yuva` (YCbCr: JPEG, lossy WebP); `interlaced` is only known for PNG.
    public static func info(_ path: String, limits: MediaLimits = .default) throws -> ImageInfo {
        if try isPNG(path, limits: limits) { return try PNGFile.info(path, limits: limits) }
        let still = try StillImage(path: path, limits: limits)
        return try still.info()
    }

    /// Whether `path` holds a still image by content: a PNG, or a file FFmpeg opens with an image
    /// demuxer (or a still-image codec) holding one frame. A GIF of several frames is not
    /// (``MediaProbe`` calls it a video). Decodes nothing, so a damaged image still counts.
    public static func isStillImage(_ path: String) -> Bool {
        guard (try? FileAccess.checkReadable(path)) != nil, let head = try? FileAccess.head(path, count: 8) else {
            return false
        }
        if MediaProbe.hasPNGSignature(head) { return true }
        return ffmpegKind(path, recognisedContent: true) == .image
    }

    // MARK: - what FFmpeg says a file is

    /// FFmpeg demuxers of image files: the image pipes (`jpeg_pipe`, `webp_pipe`, `bmp_pipe`,
    /// `tiff_pipe`, `pgm_pipe`, …), `image2` (chosen from an image file name), a few with their own
    /// names, and raw MJPEG (a JPEG with one frame is an image, several frames a video).
    static func isImageDemuxer(_ name: String) -> Bool {
        name.hasSuffix("_pipe") || ["image2", "image2pipe", "gif", "ico", "alias_pix", "brender_pix", "fits", "mjpeg"].contains(name)
    }

    /// FFmpeg codecs used only for still images (in whatever container). JPEG, JPEG 2000 and
    /// JPEG-LS are left out: they are also video codecs (AVI, MXF).
    static let stillImageCodecs: Set<String> = [
        "png", "bmp", "tiff", "webp", "gif", "ppm", "pgm", "pgmyuv", "pbm", "pam", "pfm", "phm", "pcx", "sgi",
        "sunrast", "targa", "xbm", "xpm", "xwd", "dpx", "exr", "psd", "qoi", "jpegxl", "photocd", "pictor", "dds",
        "alias_pix", "brender_pix", "fits", "gem", "vbn", "hdr", "radiance_hdr", "cri", "txd", "ptx",
    ]

    enum FFmpegKind { case image, video }

    /// `.image` for one frame from an image demuxer or of a still-image codec, `.video` for any other
    /// picture stream, nil when FFmpeg finds no picture stream. Demuxes at most two packets of the
    /// stream; decodes nothing. With `recognisedContent`, a file FFmpeg opened as `image2` only for
    /// its name must also start like the format the name suggests (otherwise decoding tells).
    static func ffmpegKind(_ path: String, recognisedContent: Bool = false) -> FFmpegKind? {
        guard let still = try? StillImage(path: path, limits: .default, requireStill: false) else { return nil }
        if recognisedContent && still.container == "image2" && !still.contentMatchesName() { return nil }
        let imageDemuxer = isImageDemuxer(still.container)
        guard imageDemuxer || stillImageCodecs.contains(still.codec) else { return .video }
        switch still.countPackets(limit: 1) {
        case .some(let count): return count <= 1 ? .image : .video
        case .none: return imageDemuxer ? .image : .video  // unreadable: decoding will say why
        }
    }

    private static func isPNG(_ path: String, limits: MediaLimits) throws -> Bool {
        let size = try FileAccess.checkReadable(path)
        if size > limits.maxFileBytes {
            throw MediaError(file: path, reason: .tooLarge("\(size) bytes exceeds the limit of \(limits.maxFileBytes)"))
        }
        return MediaProbe.hasPNGSignature(try FileAccess.head(path, count: 8))
    }
}

/// One image file opened by FFmpeg in still-image mode (a `cm_video` handle, freed on deinit).
final class StillImage {
    let path: String
    let limits: MediaLimits
    /// FFmpeg codec name (`mjpeg`, `webp`, `bmp`, …) and demuxer name (`jpeg_pipe`, `image2`, `gif`, …).
    let codec: String
    let container: String
    private let handle: OpaquePointer

    /// Opens `path`; with `requireStill`, refuses a picture stream that is a video.
    init(path: String, limits: MediaLimits, requireStill: Bool = true) throws {
        self.path = path
        self.limits = limits
        var raw: OpaquePointer? = nil
        var info = cm_video_info()
        var message = [CChar](repeating: 0, count: 512)
        let status = SystemPath.withCString(path) { cm_image_open($0, Int64(max(1, limits.maxImagePixels)), &raw, &info, &message, message.count) }
        guard status == 0, let raw else {
            let text = String(cString: message)
            switch status {
            case 1: throw MediaError(file: path, reason: .unsupported("not an image format FFmpeg recognises"))
            case 7: throw MediaError(file: path, reason: .unsupported("not an image (FFmpeg: \(text))"))
            default: throw mediaError(file: path, status: status, message: message)
            }
        }
        handle = raw
        codec = withUnsafeBytes(of: info.codec_id_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        container = withUnsafeBytes(of: info.container) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if requireStill && !ImageFile.isImageDemuxer(container) && !ImageFile.stillImageCodecs.contains(codec) {
            throw MediaError(file: path, reason: .unsupported(
                "a video (\(codec) in \(container)), not a still image; VideoFile reads it"))
        }
    }

    deinit { cm_video_close(handle) }

    /// Packets of the picture stream, counting stops past `limit` (then `limit + 1`); nil when demuxing fails.
    func countPackets(limit: Int) -> Int? {
        var count: Int64 = 0
        var message = [CChar](repeating: 0, count: 256)
        switch cm_video_count_packets(handle, Int64(limit), &count, &message, message.count) {
        case 0: return Int(count)
        case 4: return limit + 1
        default: return nil
        }
    }

    /// Decodes the first frame, held in the handle for ``convert(_:mode:)``.
    func decodeFirstFrame() throws -> cm_frame_format {
        var pts = 0.0
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = cm_video_next(handle, &pts, &width, &height, &message, message.count)
        if status == 4 { throw MediaError(file: path, reason: .tooLarge(String(cString: message))) }
        if status == 5 { throw mediaError(file: path, status: status, message: message) }
        if status != 0 || cm_video_decode_errors(handle) > 0 { throw failure(status: status, message: message) }
        var format = cm_frame_format()
        _ = cm_image_frame_format(handle, &format)
        // The JPEG decoder accepts a file that stops just short of its end-of-image marker. (Ending
        // in 0xFF 0xD9 settles it: entropy-coded data never holds that pair.)
        if codec == "mjpeg", (try? FileAccess.tail(path, count: 2)) != [0xFF, 0xD9],
           let data = try? FileAccess.read(path, maxBytes: limits.maxFileBytes),
           let reason = ImageStructure.jpegTruncation(data) {
            throw MediaError(file: path, reason: .truncated(reason))
        }
        return format
    }

    /// For a file opened as `image2` (FFmpeg's choice from the file name alone): whether the content
    /// starts like the format the name suggests, or, for formats without a signature, whether FFmpeg
    /// recognises the content at all.
    func contentMatchesName(_ data: Data? = nil) -> Bool {
        let head = data ?? Data((try? FileAccess.head(path, count: 16)) ?? [])
        if let starts = ImageStructure.startsLike(codec, head) { return starts }
        return cm_probe_content(path, nil, 0) > 0
    }

    /// Why decoding failed, as truthfully as the file's own structure tells.
    private func failure(status: Int32, message: [CChar]) -> MediaError {
        let data = try? FileAccess.read(path, maxBytes: limits.maxFileBytes)
        // `image2` is chosen from the file name alone: content that does not start like the format
        // the name suggests (or, for formats without a signature, that FFmpeg does not recognise) is
        // no image, while a damaged image keeps its signature.
        if container == "image2" && !contentMatchesName(data) {
            return MediaError(file: path, reason: .unsupported(
                "its content is not in a format FFmpeg recognises (only the file name suggests \(codec))"))
        }
        if codec == "webp", let data, ImageStructure.isAnimatedWebP(data) {
            return MediaError(file: path, reason: .unsupported("an animated WebP, which the installed FFmpeg does not decode"))
        }
        if let data, let reason = ImageStructure.truncation(data, codec: codec) {
            return MediaError(file: path, reason: .truncated(reason))
        }
        let errors = cm_video_decode_errors(handle)
        if status == 0 || status == 9 {
            return MediaError(file: path, reason: .corrupt(errors > 0
                ? "the \(codec) decoder rejected the data" : "no picture could be decoded"))
        }
        return mediaError(file: path, status: status, message: message)
    }

    /// The packed layout swscale converts to, and whether an entirely opaque alpha plane is dropped.
    struct Layout: Equatable {
        var target: Int32
        var channels: Int
        var sixteen: Bool
        var dropsOpaqueAlpha = false
    }

    func layout(_ format: cm_frame_format, mode: Image.ColorMode) -> Layout {
        let sixteen = format.bit_depth > 8
        func make(_ channels: Int, drops: Bool = false) -> Layout {
            let eight: [Int: Int] = [1: CM_PIX_GRAY8, 2: CM_PIX_YA8, 3: CM_PIX_RGB24, 4: CM_PIX_RGBA]
            let wide: [Int: Int] = [1: CM_PIX_GRAY16, 2: CM_PIX_YA16, 3: CM_PIX_RGB48, 4: CM_PIX_RGBA64]
            return Layout(target: Int32((sixteen ? wide : eight)[channels]!), channels: channels, sixteen: sixteen,
                          dropsOpaqueAlpha: drops)
        }
        switch mode {
        case .gray: return make(1)
        case .rgb: return make(3)
        case .rgba: return make(4)
        case .original:
            // Alpha that the decoder always produces, whether or not the file uses it.
            let incidentalAlpha = format.is_palette != 0 || codec == "gif" || (codec == "webp" && format.is_yuv == 0)
            if format.is_gray != 0 { return make(format.has_alpha != 0 ? 2 : 1) }
            if format.has_alpha != 0 || format.is_palette != 0 { return make(4, drops: incidentalAlpha) }
            return make(3)
        }
    }

    /// Converts the held frame to a (C, H, W) image in [0, 1].
    func convert(_ format: cm_frame_format, mode: Image.ColorMode) throws -> Image {
        let width = Int(format.width), height = Int(format.height)
        guard width > 0, height > 0 else {
            throw MediaError(file: path, reason: .corrupt("decoded picture has no size (\(width)x\(height))"))
        }
        let plane = width * height
        if plane > limits.maxImagePixels {
            throw MediaError(file: path, reason: .tooLarge(
                "\(width)x\(height) = \(plane) pixels exceeds the limit of \(limits.maxImagePixels)"))
        }
        let layout = layout(format, mode: mode)
        var channels = layout.channels
        let count = plane * channels
        var message = [CChar](repeating: 0, count: 512)
        var status: Int32 = 0
        var pixels: [Float]
        if layout.sixteen {
            var raw = [UInt16](repeating: 0, count: count)
            status = raw.withUnsafeMutableBytes { cm_image_convert(handle, layout.target, $0.baseAddress, $0.count, &message, message.count) }
            if status != 0 { throw mediaError(file: path, status: status, message: message) }
            pixels = raw.withUnsafeBufferPointer { src in
                [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    for c in 0..<channels {
                        convertPlane(src.baseAddress! + c, stride: channels, count: plane, scale: 65535,
                                     into: out.baseAddress! + c * plane)
                    }
                    initialized = count
                }
            }
        } else {
            var raw = [UInt8](repeating: 0, count: count)
            status = raw.withUnsafeMutableBytes { cm_image_convert(handle, layout.target, $0.baseAddress, $0.count, &message, message.count) }
            if status != 0 { throw mediaError(file: path, status: status, message: message) }
            pixels = raw.withUnsafeBufferPointer { src in
                [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    for c in 0..<channels {
                        convertPlane(src.baseAddress! + c, stride: channels, count: plane, into: out.baseAddress! + c * plane)
                    }
                    initialized = count
                }
            }
        }
        if layout.dropsOpaqueAlpha && pixels[((channels - 1) * plane)...].allSatisfy({ $0 == 1 }) {
            pixels.removeLast(plane)
            channels -= 1
        }
        return Image(channels: channels, height: height, width: width, pixels: pixels)
    }

    func info() throws -> ImageInfo {
        var format = cm_frame_format()
        var channels: Int
        do {
            format = try decodeFirstFrame()
            let original = layout(format, mode: .original)
            channels = original.channels
            if original.dropsOpaqueAlpha { channels = try convert(format, mode: .original).channels }
        } catch let error as MediaError {
            // Over the pixel limit: the refused frame's size and format are known without decoding it.
            guard case .tooLarge = error.reason, cm_image_frame_format(handle, &format) == 1 else { throw error }
            channels = layout(format, mode: .original).channels
        }
        return ImageInfo(codec: codec, width: Int(format.width), height: Int(format.height), channels: channels,
                         bitDepth: Int(format.bit_depth), colorType: colorType(format), interlaced: false)
    }

    private func colorType(_ format: cm_frame_format) -> String {
        let alpha = format.has_alpha != 0
        if format.is_palette != 0 || codec == "gif" { return "palette" }
        if format.is_gray != 0 { return alpha ? "gray_alpha" : "gray" }
        if format.is_yuv != 0 { return alpha ? "yuva" : "yuv" }
        return alpha ? "rgba" : "rgb"
    }
}

/// What an image file's own structure says about where its data should end. Consulted to tell a
/// file cut short (`.truncated`) from one damaged otherwise (`.corrupt`).
enum ImageStructure {
    /// A reason when `data` ends before its format says it should, for the formats whose headers or
    /// markers tell (JPEG, WebP, BMP, GIF, binary PNM); nil otherwise.
    static func truncation(_ data: Data, codec: String) -> String? {
        let bytes = [UInt8](data)
        switch codec {
        case "mjpeg":
            return jpegTruncation(data)
        case "webp":
            guard bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)) else { return nil }
            let declared = Int(littleEndian32(bytes, at: 4)) + 8
            return declared > bytes.count ? "the RIFF header declares \(declared) bytes, the file has \(bytes.count)" : nil
        case "bmp":
            guard bytes.count >= 6, bytes[0] == 0x42, bytes[1] == 0x4D else { return nil }
            let declared = Int(littleEndian32(bytes, at: 2))
            return declared > bytes.count ? "the BMP header declares \(declared) bytes, the file has \(bytes.count)" : nil
        case "gif":
            guard bytes.starts(with: Array("GIF8".utf8)) else { return nil }
            return bytes.last == 0x3B ? nil : "the GIF data ends without its trailer"
        case "ppm", "pgm", "pbm":
            return pnmTruncation(bytes)
        default:
            return nil
        }
    }

    private static func littleEndian32(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// Walks a JPEG's markers from SOI: segments by their lengths, entropy-coded data after each SOS
    /// up to the next marker, until EOI. A reason when the data ends first; nil when EOI is reached
    /// or the bytes are not JPEG markers where they should be (damage, not truncation).
    static func jpegTruncation(_ data: Data) -> String? {
        data.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> String? in
            let n = b.count
            guard n >= 2, b[0] == 0xFF, b[1] == 0xD8 else { return nil }
            let ended = "the JPEG data ends before its end-of-image marker"
            var i = 2
            while true {
                guard i + 1 < n else { return ended }
                guard b[i] == 0xFF else { return nil }
                let marker = b[i + 1]
                if marker == 0xFF { i += 1; continue }  // fill byte
                i += 2
                if marker == 0xD9 { return nil }
                if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }  // no length
                guard marker >= 0xC0 else { return nil }  // reserved: damage
                guard i + 1 < n else { return ended }
                let length = Int(b[i]) << 8 | Int(b[i + 1])
                guard length >= 2 else { return nil }
                guard i + length <= n else { return ended }
                i += length
                if marker == 0xDA {  // entropy-coded data: 0xFF is followed by 0x00 (stuffing) or RSTn
                    while true {
                        while i < n && b[i] != 0xFF { i += 1 }
                        guard i + 1 < n else { return ended }
                        let next = b[i + 1]
                        if next == 0x00 || (0xD0...0xD7).contains(next) { i += 2 } else if next == 0xFF { i += 1 } else { break }
                    }
                }
            }
        }
    }

    /// Binary PNM (P4, P5, P6): the header's width, height and maximum value give the pixel bytes.
    private static func pnmTruncation(_ b: [UInt8]) -> String? {
        guard b.count >= 3, b[0] == 0x50, [0x34, 0x35, 0x36].contains(b[1]) else { return nil }
        var i = 2
        var fields: [Int] = []
        let needed = b[1] == 0x34 ? 2 : 3
        while fields.count < needed && i < b.count {
            if b[i] == 0x23 { while i < b.count && b[i] != 0x0A { i += 1 }; continue }  // comment
            if b[i] == 0x20 || (0x09...0x0D).contains(b[i]) { i += 1; continue }
            var value = 0
            guard (0x30...0x39).contains(b[i]) else { return nil }
            while i < b.count, (0x30...0x39).contains(b[i]) {
                value = min(value * 10 + Int(b[i] - 0x30), 1 << 40)
                i += 1
            }
            fields.append(value)
        }
        guard fields.count == needed, i < b.count else { return nil }
        i += 1  // the single whitespace byte before the pixels
        let (width, height) = (fields[0], fields[1])
        let rowBytes: Int
        switch b[1] {
        case 0x34: rowBytes = (width + 7) / 8
        case 0x35: rowBytes = width * (fields[2] > 255 ? 2 : 1)
        default: rowBytes = width * 3 * (fields[2] > 255 ? 2 : 1)
        }
        let (declared, overflow) = rowBytes.multipliedReportingOverflow(by: height)
        if overflow { return nil }
        let present = b.count - i
        return declared > present ? "the header declares \(width)x\(height) pixels in \(declared) bytes, the file holds \(present)" : nil
    }

    /// Whether `data` starts with the signature of `codec`'s format; nil for formats without one
    /// listed here.
    static func startsLike(_ codec: String, _ data: Data) -> Bool? {
        let b = [UInt8](data.prefix(12))
        func starts(_ bytes: [UInt8]) -> Bool { b.starts(with: bytes) }
        switch codec {
        case "mjpeg": return starts([0xFF, 0xD8, 0xFF])
        case "png", "apng": return starts([0x89, 0x50, 0x4E, 0x47])
        case "bmp": return starts([0x42, 0x4D])
        case "gif": return starts(Array("GIF8".utf8))
        case "webp": return starts(Array("RIFF".utf8)) && b.count == 12 && Array(b[8..<12]) == Array("WEBP".utf8)
        case "tiff": return starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A])
        case "ppm", "pgm", "pbm", "pam", "pfm", "phm", "pgmyuv": return b.count >= 2 && b[0] == 0x50 && Array("1234567FfHh".utf8).contains(b[1])
        case "jpeg2000": return starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50]) || starts([0xFF, 0x4F, 0xFF, 0x51])
        case "qoi": return starts(Array("qoif".utf8))
        case "psd": return starts(Array("8BPS".utf8))
        case "exr": return starts([0x76, 0x2F, 0x31, 0x01])
        default: return nil
        }
    }

    /// A WebP with the animation flag in its VP8X header.
    static func isAnimatedWebP(_ data: Data) -> Bool {
        let b = [UInt8](data.prefix(21))
        return b.count == 21 && b.starts(with: Array("RIFF".utf8)) && Array(b[8..<16]) == Array("WEBPVP8X".utf8)
            && b[20] & 0x02 != 0
    }
}
