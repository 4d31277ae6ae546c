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

    /// PNG signature → image (libpng); otherwise libsndfile → audio; otherwise FFmpeg with a video
    /// stream → video; otherwise `.unsupported`.
    public static func probe(_ path: String, limits: MediaLimits = .default) throws -> MediaInfo {
        _ = try FileAccess.checkReadable(path)
        let head = try FileAccess.head(path, count: 8)
        if head.count >= 4 && Array(head.prefix(4)) == Array(pngSignature.prefix(4)) {
            return .image(try PNGFile.info(path, limits: limits))
        }
        var audioError: MediaError? = nil
        do {
            return .audio(try AudioFile.info(path, limits: limits))
        } catch let error as MediaError {
            audioError = error
        }
        do {
            return .video(try VideoFile.info(path, limits: limits))
        } catch let error as MediaError {
            if case .unsupported = error.reason, let audioError, case .unsupported = audioError.reason {
                throw MediaError(file: path, reason: .unsupported("not an image, audio or video format this build reads"))
            }
            if case .unsupported = error.reason, let audioError { throw audioError }
            throw error
        }
    }
}
