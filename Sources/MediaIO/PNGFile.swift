import CMediaShim
import Foundation

/// PNG reading and writing through libpng (all colour types, bit depths 1–16, Adam7 interlace).
///
/// Samples map to [0, 1] as `v / (2^depth − 1)` after libpng scales gray of 1, 2 and 4 bits to
/// 8 bits (an exact scaling: 1-bit 1 → 255, 4-bit 15 → 255); palette entries expand to RGB, and a
/// `tRNS` chunk to an alpha channel.
///
/// ```swift
/// let image = try PNGFile.read("samples/images/fmnist-0-ankle-boot.png", mode: .gray)  // 1×28×28
/// try PNGFile.write(image, to: "/tmp/copy.png")
/// ```
public enum PNGFile {
    static let colorTypeNames = [0: "gray", 2: "rgb", 3: "palette", 4: "gray_alpha", 6: "rgba"]

    /// Header information of the PNG at `path`.
    public static func info(_ path: String, limits: MediaLimits = .default) throws -> ImageInfo {
        let data = try FileAccess.read(path, maxBytes: limits.maxFileBytes)
        let (info, _) = try decodeRaw(data, name: path, maxPixels: UInt64.max, headerOnly: true)
        let channels: Int
        switch Int(info.color_type) {
        case 0: channels = info.has_trns != 0 ? 2 : 1
        case 4: channels = 2
        case 2, 3: channels = info.has_trns != 0 ? 4 : 3
        default: channels = 4
        }
        return ImageInfo(codec: "png", width: Int(info.width), height: Int(info.height), channels: channels,
                         bitDepth: Int(info.file_bit_depth),
                         colorType: colorTypeNames[Int(info.color_type)] ?? "unknown",
                         interlaced: info.interlaced != 0)
    }

    /// Decodes the PNG at `path` into a (C, H, W) image in [0, 1].
    public static func read(_ path: String, mode: Image.ColorMode = .original,
                            limits: MediaLimits = .default) throws -> Image {
        let data = try FileAccess.read(path, maxBytes: limits.maxFileBytes)
        return try decode(data, name: path, mode: mode, limits: limits)
    }

    /// Decodes PNG bytes held in memory; `name` is used in errors.
    public static func decode(_ data: Data, name: String, mode: Image.ColorMode = .original,
                              limits: MediaLimits = .default) throws -> Image {
        if data.isEmpty { throw MediaError(file: name, reason: .empty) }
        let (info, raw) = try decodeRaw(data, name: name, maxPixels: UInt64(max(0, limits.maxImagePixels)),
                                        headerOnly: false)
        defer { cm_free(raw) }
        let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
        let plane = width * height
        var pixels = [Float](repeating: 0, count: channels * plane)
        // Interleaved (H, W, C) samples → planar (C, H, W).
        pixels.withUnsafeMutableBufferPointer { out in
            if info.bit_depth == 16 {
                let src = raw!.assumingMemoryBound(to: UInt16.self)
                let scale: Float = 1 / 65535
                for i in 0..<plane {
                    for c in 0..<channels { out[c * plane + i] = Float(src[i * channels + c]) * scale }
                }
            } else {
                let src = raw!.assumingMemoryBound(to: UInt8.self)
                let scale: Float = 1 / 255
                for i in 0..<plane {
                    for c in 0..<channels { out[c * plane + i] = Float(src[i * channels + c]) * scale }
                }
            }
        }
        return Image(channels: channels, height: height, width: width, pixels: pixels).converted(to: mode)
    }

    private static func decodeRaw(_ data: Data, name: String, maxPixels: UInt64,
                                  headerOnly: Bool) throws -> (cm_png_info, UnsafeMutableRawPointer?) {
        var info = cm_png_info()
        var raw: UnsafeMutableRawPointer? = nil
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { bytes in
            cm_png_decode(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, maxPixels,
                          headerOnly ? 1 : 0, &info, &raw, &message, message.count)
        }
        if status != 0 {
            throw mediaError(file: name, status: status, message: message,
                             unsupported: "not a PNG file (bad signature)")
        }
        return (info, raw)
    }

    /// 8-bit PNG bytes of `image` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA channels). Samples are
    /// clamped to [0, 1] and rounded to the nearest of 256 levels: `round(255 · v)`.
    public static func encode(_ image: Image, name: String = "<memory>") throws -> Data {
        guard (1...4).contains(image.channels), image.width > 0, image.height > 0 else {
            throw MediaError(file: name, reason: .invalidArgument(
                "PNG needs 1–4 channels and a non-empty size, got \(image.channels)×\(image.height)×\(image.width)"))
        }
        let plane = image.width * image.height, channels = image.channels
        var bytes = [UInt8](repeating: 0, count: plane * channels)
        // Planar (C, H, W) → interleaved (H, W, C).
        image.pixels.withUnsafeBufferPointer { p in
            for c in 0..<channels {
                for i in 0..<plane {
                    let v = p[c * plane + i]
                    let clamped = v.isNaN ? 0 : min(max(v, 0), 1)
                    bytes[i * channels + c] = UInt8((clamped * 255).rounded())
                }
            }
        }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = cm_png_encode(bytes, UInt32(image.width), UInt32(image.height), Int32(channels),
                                   &out, &size, &message, message.count)
        guard status == 0, let out else { throw mediaError(file: name, status: status, message: message) }
        defer { cm_free(out) }
        return Data(bytes: out, count: size)
    }

    /// Writes `image` as an 8-bit PNG (see ``encode(_:name:)``), atomically.
    public static func write(_ image: Image, to path: String) throws {
        try FileAccess.writeAtomically(encode(image, name: path), to: path)
    }
}
