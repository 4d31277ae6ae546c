/// Upper bounds checked before any large allocation, so that a hostile or broken header cannot
/// make a decoder allocate without bound. Exceeding one gives ``MediaError/Reason/tooLarge(_:)``.
///
/// ```swift
/// var limits = MediaLimits.default
/// limits.maxImagePixels = 100_000_000
/// let image = try PNGFile.read("huge.png", limits: limits)
/// ```
public struct MediaLimits: Equatable, Sendable {
    /// Width × height of one image (default 40 M pixels, e.g. 8000 × 5000).
    public var maxImagePixels: Int = 40_000_000
    /// Width × height of one video frame, decoded or requested (default 4096 × 4096).
    public var maxFramePixels: Int = 4096 * 4096
    /// Frames in one decoded clip (default 10,000).
    public var maxVideoFrames: Int = 10_000
    /// Floats in one decoded clip, T × C × H × W (default 2^28, 1 GiB).
    public var maxClipElements: Int = 1 << 28
    /// Duration of one audio file in seconds (default 1 hour).
    public var maxAudioSeconds: Double = 3600
    /// Channels of one audio file (default 64).
    public var maxAudioChannels: Int = 64
    /// Bytes of one file read into memory whole (PNG) (default 512 MiB).
    public var maxFileBytes: Int = 512 << 20

    public init() {}

    /// The safe defaults above.
    public static let `default` = MediaLimits()
}
