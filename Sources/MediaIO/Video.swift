import CMediaShim
import Foundation

/// What a video file's container and stream say.
public struct VideoInfo: Equatable, Sendable {
    /// FFmpeg decoder name: `h264`, `hevc`, `libdav1d`, `mpeg4`, `mjpeg`, `ffv1`, `gif`, …
    public var codec: String
    /// FFmpeg demuxer name.
    public var container: String
    public var width: Int
    public var height: Int
    /// Frames: the container's count, or the video packets counted by demuxing when it has none.
    public var frames: Int
    /// Average frame rate (0 if unknown).
    public var fps: Double
    /// Seconds (0 if unknown).
    public var duration: Double
}

/// A decoded clip: `frames × channels × height × width` Float32 in [0, 1], (T, C, H, W) row-major,
/// channels RGB or gray.
public struct VideoClip: Equatable, Sendable {
    public var frames: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    /// (T, C, H, W) samples.
    public var pixels: [Float]
    /// Presentation time of each kept frame in seconds from the stream start.
    public var timestamps: [Double]

    /// The (T, C, H, W) shape.
    public var shape: [Int] { [frames, channels, height, width] }

    /// Frame `t` as an image.
    public func frame(_ t: Int) -> Image {
        let size = channels * height * width
        return Image(channels: channels, height: height, width: width, pixels: Array(pixels[(t * size)..<((t + 1) * size)]))
    }
}

/// Which frames to decode and how.
public struct VideoDecodeOptions: Equatable, Sendable {
    /// Stop after this many kept frames, at least 1 (nil: all, up to ``MediaLimits/maxVideoFrames``).
    public var maxFrames: Int?
    /// Keep every `stride`-th decoded frame (1 = all), counting from ``start``. Ignored when
    /// ``targetFPS`` is set.
    public var stride: Int = 1
    /// Decoded frames skipped before the first kept one (with ``stride``; 0 = from the first).
    public var start: Int = 0
    /// Keep the first frame at or after each multiple of `1 / targetFPS` seconds.
    public var targetFPS: Double?
    /// Output (width, height), scaled with swscale (bicubic); nil keeps the stream size.
    public var width: Int?
    public var height: Int?
    /// One luma channel instead of RGB.
    public var gray: Bool = false
    /// Decoder threads (0 = FFmpeg decides).
    public var threads: Int = 0

    public init(maxFrames: Int? = nil, stride: Int = 1, start: Int = 0, targetFPS: Double? = nil, width: Int? = nil,
                height: Int? = nil, gray: Bool = false, threads: Int = 0) {
        self.maxFrames = maxFrames
        self.stride = stride
        self.start = start
        self.targetFPS = targetFPS
        self.width = width
        self.height = height
        self.gray = gray
        self.threads = threads
    }
}

/// Owns an FFmpeg demuxer + decoder + scaler (one `cm_video`) and frees them on deinit.
/// Frames are decoded one at a time; memory does not grow with the file.
public final class VideoReader {
    private let handle: OpaquePointer
    public let path: String
    /// The stream's size, rate and codec as opened (``VideoInfo/frames`` is the container's count, 0 if none).
    public let info: VideoInfo
    private var message = [CChar](repeating: 0, count: 512)

    /// Opens the best video stream of `path`.
    public init(path: String, threads: Int = 0, limits: MediaLimits = .default) throws {
        _ = try FileAccess.checkReadable(path)
        var raw: OpaquePointer? = nil
        var cinfo = cm_video_info()
        var message = [CChar](repeating: 0, count: 512)
        let status = SystemPath.withCString(path) { cm_video_open($0, Int32(threads), &raw, &cinfo, &message, message.count) }
        guard status == 0, let raw else {
            throw mediaError(file: path, status: status, message: message,
                             unsupported: "not a video format FFmpeg recognises (\(String(cString: message)))")
        }
        handle = raw
        self.path = path
        let codec = withUnsafeBytes(of: cinfo.codec) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let container = withUnsafeBytes(of: cinfo.container) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        info = VideoInfo(codec: codec, container: container, width: Int(cinfo.width), height: Int(cinfo.height),
                         frames: Int(cinfo.frames), fps: cinfo.fps, duration: cinfo.duration_s)
        if info.width * info.height > limits.maxFramePixels {
            throw MediaError(file: path, reason: .tooLarge(
                "frames of \(info.width)x\(info.height) exceed the limit of \(limits.maxFramePixels) pixels"))
        }
    }

    deinit { cm_video_close(handle) }

    /// Counts the remaining video packets without decoding (use on a fresh reader).
    public func countPackets(limit: Int) throws -> Int {
        var count: Int64 = 0
        let status = cm_video_count_packets(handle, Int64(limit), &count, &message, message.count)
        if status == 4 { throw MediaError(file: path, reason: .tooLarge("more than \(limit) frames")) }
        if status != 0 { throw mediaError(file: path, status: status, message: message) }
        return Int(count)
    }

    /// A decoded frame held by the reader until the next call to ``next()``.
    public struct Frame { public var time: Double; public var width: Int; public var height: Int }

    /// Decodes the next frame, or nil at the end of the stream.
    public func next() throws -> Frame? {
        var pts = 0.0
        var w: Int32 = 0, h: Int32 = 0
        let status = cm_video_next(handle, &pts, &w, &h, &message, message.count)
        if status == 9 { return nil }
        if status != 0 { throw mediaError(file: path, status: status, message: message) }
        return Frame(time: pts, width: Int(w), height: Int(h))
    }

    /// Converts the held frame to packed bytes (H, W, C), C = 3 (rgb24) or 1 (gray8);
    /// `bytes` must hold at least `width × height × C` values.
    public func convert(width: Int, height: Int, gray: Bool, into bytes: inout [UInt8]) throws {
        guard width > 0, height > 0, width <= 1 << 16, height <= 1 << 16,
              bytes.count >= width * height * (gray ? 1 : 3) else {
            throw MediaError(file: path, reason: .invalidArgument(
                "cannot convert to \(width)x\(height) into a buffer of \(bytes.count) bytes"))
        }
        let status = bytes.withUnsafeMutableBufferPointer { p in
            cm_video_convert(handle, Int32(width), Int32(height), gray ? 1 : 0, p.baseAddress, &message, message.count)
        }
        if status != 0 { throw mediaError(file: path, status: status, message: message) }
    }

    /// Packets the decoder rejected as invalid data so far.
    public var decodeErrors: Int { Int(cm_video_decode_errors(handle)) }
}

/// Video files through FFmpeg (everything the installed libavcodec decodes).
///
/// ```swift
/// let info = try VideoFile.info("samples/video/testsrc-h264.mp4")
/// var options = VideoDecodeOptions(maxFrames: 16, targetFPS: 8, width: 64, height: 64)
/// let clip = try VideoFile.read("samples/video/testsrc-h264.mp4", options: options)  // 16×3×64×64
/// ```
public enum VideoFile {
    /// Container and stream information; counts packets when the container stores no frame count.
    /// With `validate`, always demuxes to the end and throws `.truncated` when fewer packets than
    /// the stored frame count are present (no decoding).
    public static func info(_ path: String, limits: MediaLimits = .default, validate: Bool = false) throws -> VideoInfo {
        let reader = try VideoReader(path: path, threads: 1, limits: limits)   // no decoding here: no decoder threads
        var info = reader.info
        if info.frames <= 0 {
            info.frames = try reader.countPackets(limit: Int.max / 2)
            // Without a stored count, the container's duration says how many frames there should be.
            let expected = info.duration * info.fps
            if info.fps > 0, info.duration > 0, expected.isFinite, Double(info.frames) + 2 < 0.9 * expected {
                throw MediaError(file: path, reason: .truncated(
                    "holds \(info.frames) frames; the container declares \(info.duration) s at \(info.fps) fps (\(Int(expected.rounded())) frames)"))
            }
        } else if validate {
            let packets = try reader.countPackets(limit: Int.max / 2)
            if packets < info.frames {
                throw MediaError(file: path, reason: .truncated("container declares \(info.frames) frames, holds \(packets) packets"))
            }
        }
        return info
    }

    /// Decodes the frames selected by `options` into a (T, C, H, W) clip in [0, 1].
    ///
    /// Throws `.corrupt` when the decoder rejected any packet, `.truncated` when the stream ends
    /// before the frame count its container declares, `.tooLarge` when the requested clip exceeds
    /// the limits (checked before each frame is stored).
    public static func read(_ path: String, options: VideoDecodeOptions = VideoDecodeOptions(),
                            limits: MediaLimits = .default) throws -> VideoClip {
        let reader = try VideoReader(path: path, threads: options.threads, limits: limits)
        let info = reader.info
        let outWidth = options.width ?? info.width, outHeight = options.height ?? info.height
        guard outWidth > 0, outHeight > 0, outWidth <= 1 << 16, outHeight <= 1 << 16, options.stride >= 1, options.start >= 0, options.maxFrames.map({ $0 >= 1 }) ?? true,
              options.targetFPS.map({ $0 > 0 && $0.isFinite }) ?? true else {
            throw MediaError(file: path, reason: .invalidArgument(
                "invalid decode options (size \(outWidth)x\(outHeight), stride \(options.stride), fps \(options.targetFPS ?? 0))"))
        }
        if outWidth * outHeight > limits.maxFramePixels {
            throw MediaError(file: path, reason: .tooLarge(
                "output frames of \(outWidth)x\(outHeight) exceed the limit of \(limits.maxFramePixels) pixels"))
        }
        let channels = options.gray ? 1 : 3
        let plane = outWidth * outHeight, frameSize = channels * plane
        let wanted = options.maxFrames ?? Int.max
        var timestamps: [Double] = []
        var bytes = [UInt8](repeating: 0, count: frameSize)
        var scratch = [Float](repeating: 0, count: frameSize)
        var decoded = 0
        var nextTime = 0.0
        var lastTime = -1.0
        // The clip is written straight into one allocation sized from the declared frame count
        // (or duration × fps), never beyond the limits since a damaged header may declare anything;
        // frames past that estimate go through `overflow` and are appended at the end.
        let declared: Int
        if info.frames > 0 {
            declared = min(info.frames, limits.maxVideoFrames)
        } else if info.duration > 0, info.fps > 0, info.duration * info.fps < Double(limits.maxVideoFrames) {
            declared = Int((info.duration * info.fps).rounded(.up)) + 1
        } else {
            declared = 64
        }
        let perStride = options.targetFPS.map { _ in declared } ?? declared / options.stride + 1
        let reserved = min(wanted, limits.maxVideoFrames, perStride, limits.maxClipElements / frameSize)
        var overflow: [Float] = []
        var failure: Error? = nil
        var pixels = [Float](unsafeUninitializedCapacity: reserved * frameSize) { clip, initialized in
            initialized = 0
            do {
                while timestamps.count < wanted, let frame = try reader.next() {
                    defer { decoded += 1 }
                    lastTime = max(lastTime, frame.time)
                    if frame.width * frame.height > limits.maxFramePixels {
                        throw MediaError(file: path, reason: .tooLarge(
                            "frame \(decoded) of \(frame.width)x\(frame.height) exceeds the limit of \(limits.maxFramePixels) pixels"))
                    }
                    if let fps = options.targetFPS {
                        let time = frame.time >= 0 ? frame.time : Double(decoded) / (info.fps > 0 ? info.fps : fps)
                        if time + 1e-6 < nextTime { continue }
                        nextTime += 1 / fps
                        while nextTime <= time { nextTime += 1 / fps }
                    } else if decoded < options.start || (decoded - options.start) % options.stride != 0 {
                        continue
                    }
                    let k = timestamps.count
                    if k + 1 > limits.maxVideoFrames || (k + 1) * frameSize > limits.maxClipElements {
                        throw MediaError(file: path, reason: .tooLarge(
                            "clip exceeds the limit of \(limits.maxVideoFrames) frames or \(limits.maxClipElements) values; request fewer frames"))
                    }
                    try reader.convert(width: outWidth, height: outHeight, gray: options.gray, into: &bytes)
                    // (H, W, C) bytes → (C, H, W) floats in [0, 1]
                    scratch.withUnsafeMutableBufferPointer { spare in
                        let out = k < reserved ? clip.baseAddress! + k * frameSize : spare.baseAddress!
                        bytes.withUnsafeBufferPointer { src in
                            for c in 0..<channels {
                                convertPlane(src.baseAddress! + c, stride: channels, count: plane, into: out + c * plane)
                            }
                        }
                    }
                    if k < reserved { initialized = (k + 1) * frameSize } else { overflow.append(contentsOf: scratch) }
                    timestamps.append(frame.time)
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if !overflow.isEmpty { pixels.append(contentsOf: overflow) }
        if reader.decodeErrors > 0 {
            throw MediaError(file: path, reason: .corrupt("the decoder rejected \(reader.decodeErrors) packet(s)"))
        }
        if timestamps.count < wanted {  // read to the end of the stream
            if info.frames > 0 && decoded < info.frames {
                throw MediaError(file: path, reason: .truncated("container declares \(info.frames) frames, decoded \(decoded)"))
            }
            // Without a stored count: the last frame must reach the declared duration (within 2 frames).
            if info.frames == 0 && info.fps > 0 && info.duration > 0 && lastTime >= 0
                && lastTime + 3 / info.fps < info.duration {
                throw MediaError(file: path, reason: .truncated(
                    "stream ends at \(lastTime) s, container declares \(info.duration) s"))
            }
        }
        if decoded == 0 {
            throw MediaError(file: path, reason: .corrupt("no frame could be decoded"))
        }
        return VideoClip(frames: timestamps.count, channels: channels, height: outHeight, width: outWidth,
                         pixels: pixels, timestamps: timestamps)
    }
}
