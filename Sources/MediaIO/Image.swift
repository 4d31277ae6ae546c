/// A decoded image: `channels × height × width` Float32 samples in [0, 1], planar (C, H, W),
/// row-major within each plane. Channel order is gray, gray+alpha, RGB or RGBA.
///
/// `pixels[c * height * width + y * width + x]` is channel `c` at row `y`, column `x`.
public struct Image: Equatable, Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// (C, H, W) samples in [0, 1].
    public var pixels: [Float]

    public init(channels: Int, height: Int, width: Int, pixels: [Float]) {
        precondition(channels >= 1 && height >= 0 && width >= 0, "invalid image shape \(channels)×\(height)×\(width)")
        precondition(pixels.count == channels * height * width,
                     "pixels has \(pixels.count) samples, \(channels)×\(height)×\(width) needs \(channels * height * width)")
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// The (C, H, W) shape.
    public var shape: [Int] { [channels, height, width] }

    /// Sample at channel `c`, row `y`, column `x`.
    @inlinable public subscript(c: Int, y: Int, x: Int) -> Float {
        get { pixels[(c * height + y) * width + x] }
        set { pixels[(c * height + y) * width + x] = newValue }
    }

    /// This image in `mode`. Gray from RGB is the ITU-R BT.601 luma
    /// `Y = 0.299 R + 0.587 G + 0.114 B`; RGB from gray repeats the plane; alpha is dropped
    /// (gray, RGB) or set to 1 where missing (RGBA).
    public func converted(to mode: ColorMode) -> Image {
        let plane = height * width
        let hasAlpha = channels == 2 || channels == 4
        let colour = channels >= 3
        func planeSlice(_ c: Int) -> ArraySlice<Float> { pixels[(c * plane)..<((c + 1) * plane)] }
        switch mode {
        case .original:
            return self
        case .gray:
            if channels == 1 { return self }
            if !colour { return Image(channels: 1, height: height, width: width, pixels: Array(planeSlice(0))) }
            var out = [Float](repeating: 0, count: plane)
            pixels.withUnsafeBufferPointer { p in
                for i in 0..<plane {
                    out[i] = 0.299 * p[i] + 0.587 * p[plane + i] + 0.114 * p[2 * plane + i]
                }
            }
            return Image(channels: 1, height: height, width: width, pixels: out)
        case .rgb, .rgba:
            var out: [Float] = []
            out.reserveCapacity(plane * (mode == .rgb ? 3 : 4))
            if colour {
                out.append(contentsOf: pixels[0..<(3 * plane)])
            } else {
                for _ in 0..<3 { out.append(contentsOf: planeSlice(0)) }
            }
            if mode == .rgba {
                if hasAlpha { out.append(contentsOf: planeSlice(channels - 1)) }
                else { out.append(contentsOf: repeatElement(1, count: plane)) }
            }
            return Image(channels: mode == .rgb ? 3 : 4, height: height, width: width, pixels: out)
        }
    }

    /// Channel layout requested from a reader.
    public enum ColorMode: String, Sendable, CaseIterable {
        /// As stored: gray, gray+alpha, RGB or RGBA (palette images become RGB or RGBA).
        case original
        /// One luma channel.
        case gray
        /// Three channels.
        case rgb
        /// Four channels.
        case rgba
    }
}

/// What an image file says about its pixels: the PNG header, or the first frame FFmpeg decodes.
public struct ImageInfo: Equatable, Sendable {
    /// `png`, or the FFmpeg codec name: `mjpeg`, `webp`, `bmp`, `tiff`, `gif`, `pgm`, …
    public var codec: String
    public var width: Int
    public var height: Int
    /// Channels as read with ``Image/ColorMode/original`` (PNG: palette counts as 3, or 4 with
    /// transparency; tRNS adds alpha).
    public var channels: Int
    /// Bits per sample as stored: 1, 2, 4, 8 or 16 for PNG; for other formats the depth of the
    /// first component of FFmpeg's pixel format.
    public var bitDepth: Int
    /// Colour type name: `gray`, `gray_alpha`, `rgb`, `rgba`, `palette` (PNG's colour types, and
    /// the same names for other formats), or `yuv`, `yuva` for YCbCr formats (JPEG, lossy WebP).
    public var colorType: String
    /// Adam7 for PNG; false for other formats (not reported by FFmpeg).
    public var interlaced: Bool
}
