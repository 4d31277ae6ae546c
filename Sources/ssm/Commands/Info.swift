import ArgumentParser
import MediaIO

/// `ssm info FILE...`: one JSON object per file, like `ffprobe -of json`, in the order given.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print media metadata as JSON lines.",
        discussion: """
            Keys where they apply: file, kind (image|audio|video), codec, width, height, channels, \
            frames (video frames or audio sample frames), sample_rate, fps, duration_s; videos also \
            list every stream of their container in "streams" (index, type video|audio|subtitle|other, \
            codec, width/height or sample_rate/channels, duration_s). A file that \
            cannot be read gets {"file", "error"}; the exit status is 1 if any file failed. Images and \
            audio are decoded in full to find damage past the header; videos are demuxed to the end \
            (packets counted against the stored frame count), and with --decode decoded frame by frame \
            to the end too (adds "decoded_frames"; a packet the decoder rejects is "corrupt").

            Examples:
              ssm info samples/video/testsrc-h264.mp4
              ssm info samples/audio/*.wav
              ssm info photo.jpg clip.mkv speech.flac | grep error
              ssm info --decode suspicious.mp4
            """)

    @Argument(help: "Image (any still format), audio or video files.")
    var files: [String]

    @Flag(help: "Decode videos to the end to find damage (slower).")
    var decode = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one file") }
    }

    func run() throws {
        var failed = 0
        for file in files {
            var line = JSONLine()
            line.add("file", file)
            do {
                switch try MediaProbe.probe(file, validate: true) {
                case .image(let info):
                    line.add("kind", "image")
                    line.add("codec", info.codec)
                    line.add("width", info.width)
                    line.add("height", info.height)
                    line.add("channels", info.channels)
                case .audio(let info):
                    line.add("kind", "audio")
                    line.add("codec", info.codec)
                    line.add("channels", info.channels)
                    line.add("frames", info.frames)
                    line.add("sample_rate", info.sampleRate)
                    line.add("duration_s", info.duration)
                case .video(let info):
                    line.add("kind", "video")
                    line.add("codec", info.codec)
                    line.add("width", info.width)
                    line.add("height", info.height)
                    line.add("channels", 3)
                    line.add("frames", info.frames)
                    line.add("fps", info.fps)
                    line.add("duration_s", info.duration)
                    // Every stream of the container, not only the video one read above.
                    let streams = try MediaProbe.streams(file)
                    line.add("streams", .array(streams.map { st in
                        var o = JSONLine()
                        o.add("index", st.index)
                        o.add("type", st.kind.rawValue)
                        o.add("codec", st.codec)
                        switch st.kind {
                        case .video: o.add("width", st.width); o.add("height", st.height)
                        case .audio: o.add("sample_rate", st.sampleRate); o.add("channels", st.channels)
                        default: break
                        }
                        if st.duration > 0 { o.add("duration_s", st.duration) }
                        return .object(o)
                    }))
                    if decode {
                        // Every frame through the decoder; only a 2x2 gray copy of each is kept.
                        var limits = MediaLimits.default
                        limits.maxVideoFrames = Int(Int32.max)
                        let clip = try VideoFile.read(file, options: VideoDecodeOptions(width: 2, height: 2, gray: true), limits: limits)
                        line.add("decoded_frames", clip.frames)
                    }
                }
            } catch let error as MediaError {
                failed += 1
                line = JSONLine()
                line.add("file", file)
                line.add("error", "\(error.reason.name): \(error.reason.detail)")
            }
            line.print()
        }
        if failed > 0 {
            Stderr.line("info: \(failed) of \(files.count) file(s) failed")
            throw ExitCode(1)
        }
    }
}
