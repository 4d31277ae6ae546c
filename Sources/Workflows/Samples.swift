import Foundation
import MediaIO

/// What a data folder holds, and which file names count as which.
public enum SampleKind: String, Sendable, CaseIterable {
    case image, video

    /// File extensions listed in data folders of this kind (lower case). GIF is both: a folder
    /// of GIFs is read as the kind asked for.
    public var extensions: Set<String> {
        switch self {
        case .image: return ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif", "pgm", "ppm", "pnm"]
        case .video: return ["mp4", "mkv", "webm", "avi", "mov", "m4v", "mpg", "mpeg", "ogv", "gif"]
        }
    }

    /// Whether `name`'s extension is one of this kind's.
    public func matches(_ name: String) -> Bool { extensions.contains((name as NSString).pathExtension.lowercased()) }

    /// The kind of a model with `axes` grid axes (2 → image, 3 → video).
    public init?(axes: Int) {
        switch axes {
        case 2: self = .image
        case 3: self = .video
        default: return nil
        }
    }
}

/// Reading one sample (an image or a clip) the way the classifiers take it.
public enum Samples {
    /// Reads the image `file` (any still-image format MediaIO reads: PNG, JPEG, WebP, BMP, TIFF,
    /// GIF's first frame, …) in `mode` (gray or RGB) and resizes it to `height × width` when given.
    public static func image(_ file: String, mode: Image.ColorMode, height: Int? = nil, width: Int? = nil,
                             limits: MediaLimits = .default) throws -> Image {
        let image = try ImageFile.read(file, mode: mode, limits: limits)
        guard let height, let width, height != image.height || width != image.width else { return image }
        return image.resized(height: height, width: width)
    }

    /// `frames` evenly spaced frames of the video `file` (``FrameSampling``, centred), gray or
    /// RGB, scaled to `height × width` when given, as `(C, T, H, W)` values in [0, 1] and the
    /// grid size `[T, H, W]`. Only the kept frames are held in memory.
    ///
    /// A clip with fewer than `frames` frames gives all of its frames, or with `exact`, an
    /// `.invalidArgument` error. `info`, when the caller has it already, saves opening the file for it.
    public static func clip(_ file: String, frames: Int, gray: Bool, height: Int? = nil, width: Int? = nil, exact: Bool = false,
                            info known: VideoInfo? = nil, limits: MediaLimits = .default) throws -> (pixels: [Float], size: [Int]) {
        let info = try known ?? VideoFile.info(file, limits: limits)
        guard info.frames >= 1 else { throw MediaError(file: file, reason: .corrupt("the video has no frames")) }
        if exact && info.frames < frames {
            throw MediaError(file: file, reason: .invalidArgument("the video has \(info.frames) frame(s); \(frames) are needed"))
        }
        let sampling = FrameSampling(source: info.frames, frames: min(frames, info.frames))
        let options = VideoDecodeOptions(maxFrames: sampling.frames, stride: sampling.stride, start: sampling.centredOffset,
                                         width: width, height: height, gray: gray, threads: 1)
        let clip = try VideoFile.read(file, options: options, limits: limits)
        if exact && clip.frames < frames {
            throw MediaError(file: file, reason: .truncated("decoded \(clip.frames) of the \(frames) frames needed"))
        }
        // (T, C, H, W) → (C, T, H, W)
        let (T, C, plane) = (clip.frames, clip.channels, clip.height * clip.width)
        var out = [Float](repeating: 0, count: clip.pixels.count)
        out.withUnsafeMutableBufferPointer { o in
            clip.pixels.withUnsafeBufferPointer { p in
                for t in 0..<T {
                    for c in 0..<C {
                        (o.baseAddress! + (c * T + t) * plane).update(from: p.baseAddress! + (t * C + c) * plane, count: plane)
                    }
                }
            }
        }
        return (out, [T, clip.height, clip.width])
    }
}
