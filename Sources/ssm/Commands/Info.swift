import ArgumentParser
import MediaIO

/// `ssm info FILE...`: one JSON object per file, like `ffprobe -of json`, in the order given.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print media metadata as JSON lines.",
        discussion: """
            Keys where they apply: file, kind (image|audio|video), codec, width, height, channels, \
            frames (video frames or audio sample frames), sample_rate, fps, duration_s. A file that \
            cannot be read gets {"file", "error"}; the exit status is 1 if any file failed. Images and \
            audio are decoded in full to find damage past the header.

            Examples:
              ssm info samples/video/testsrc-h264.mp4
              ssm info samples/audio/*.wav
              ssm info photo.png clip.mkv speech.flac | grep error
            """)

    @Argument(help: "Image (PNG), audio or video files.")
    var files: [String]

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
                }
            } catch let error as MediaError {
                failed += 1
                line = JSONLine()
                line.add("file", file)
                line.add("error", "\(error.reason.name): \(error.reason.detail)")
            }
            line.print()
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
