import CMediaShim
/// The kind of a media file.
public enum MediaKind: String, Sendable {
    case image, audio, video
}

/// Header-level information of any file MediaIO reads.
public enum MediaInfo: Equatable, Sendable {
    case image(ImageInfo)
    case audio(AudioInfo)
    case video(VideoInfo)

    public var kind: MediaKind {
        switch self {
        case .image: return .image
        case .audio: return .audio
        case .video: return .video
        }
    }
}

/// Identifies a file by content (not by its name) and reads its header.
public enum MediaProbe {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The first bytes of a file start like a PNG (4 bytes suffice, so that a PNG cut inside its
    /// signature is still read, and reported, as a PNG).
    static func hasPNGSignature(_ head: [UInt8]) -> Bool {
        head.count >= 4 && Array(head.prefix(4)) == Array(pngSignature.prefix(4))
    }

    /// PNG signature → image (libpng); otherwise libsndfile → audio; otherwise FFmpeg: one frame
    /// from an image demuxer (`jpeg_pipe`, `webp_pipe`, `image2`, `gif`, …) or of a still-image codec
    /// → image (``ImageFile``), any other picture stream → video; otherwise `.unsupported`.
    /// A GIF of several frames is a video.
    ///
    /// With `validate`, images and audio are decoded in full (so a damaged body is reported, not
    /// only a damaged header), and video is demuxed to the end and its packets counted against
    /// the stored frame count. (``ImageFile/info(_:limits:)`` decodes the first frame of a
    /// non-PNG image even without it.)
    public static func probe(_ path: String, limits: MediaLimits = .default, validate: Bool = false) throws -> MediaInfo {
        _ = try FileAccess.checkReadable(path)
        let head = try FileAccess.head(path, count: 8)
        if hasPNGSignature(head) {
            let info = try PNGFile.info(path, limits: limits)
            if validate { _ = try PNGFile.read(path, limits: limits) }
            return .image(info)
        }
        var audioError: MediaError? = nil
        do {
            let info = try AudioFile.info(path, limits: limits)
            if validate { _ = try AudioFile.read(path, limits: limits) }
            return .audio(info)
        } catch let error as MediaError {
            audioError = error
        }
        if ImageFile.ffmpegKind(path) == .image {
            let info = try ImageFile.info(path, limits: limits)
            if validate { _ = try ImageFile.read(path, limits: limits) }
            return .image(info)
        }
        do {
            return .video(try VideoFile.info(path, limits: limits, validate: validate))
        } catch let error as MediaError {
            if case .unsupported = error.reason, let audioError, case .unsupported = audioError.reason {
                throw MediaError(file: path, reason: .unsupported("not an image, audio or video format this build reads"))
            }
            if case .unsupported = error.reason, let audioError { throw audioError }
            throw error
        }
    }
}

/// One stream of a container (``MediaProbe/streams(_:)``).
public struct StreamInfo: Equatable, Sendable {
    public enum Kind: String, Sendable { case video, audio, subtitle, other }
    public var index: Int
    public var kind: Kind
    /// FFmpeg codec name: `h264`, `aac`, `vp9`, `opus`, …
    public var codec: String
    /// Video streams.
    public var width: Int, height: Int
    /// Audio streams.
    public var sampleRate: Int, channels: Int
    /// Seconds (0 if unknown).
    public var duration: Double
}

extension MediaProbe {
    /// Every stream of the container at `path` (video, audio, subtitles, …), as its header says.
    public static func streams(_ path: String) throws -> [StreamInfo] {
        _ = try FileAccess.checkReadable(path)
        var buffer = [cm_stream_info](repeating: cm_stream_info(), count: 64)
        var count: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = SystemPath.withCString(path) { cm_streams($0, &buffer, Int32(buffer.count), &count, &message, message.count) }
        if status != 0 { throw mediaError(file: path, status: status, message: message) }
        let kinds: [StreamInfo.Kind] = [.video, .audio, .subtitle, .other]
        return buffer.prefix(min(Int(count), buffer.count)).map { s in
            let codec = withUnsafeBytes(of: s.codec) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            return StreamInfo(index: Int(s.index), kind: kinds[Int(min(max(s.type, 0), 3))], codec: codec, width: Int(s.width),
                              height: Int(s.height), sampleRate: Int(s.sample_rate), channels: Int(s.channels), duration: s.duration_s)
        }
    }
}
