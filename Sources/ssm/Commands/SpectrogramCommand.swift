import ArgumentParser
import Foundation
import MediaIO
import Workflows

/// `ssm spectrogram FILE --out PNG`: a picture of an audio file's spectrum over time.
struct SpectrogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrogram",
        abstract: "Render an audio file's log-magnitude spectrogram as a PNG.",
        discussion: """
            The file is mixed to mono (and resampled with --rate); frames of --window samples with a \
            Hann window every --hop samples; the top --range dB are shown, low frequencies at the \
            bottom, time left to right. Prints one JSON line with the image size.

            Examples:
              ssm spectrogram x.wav --out x.png
              ssm spectrogram speech.flac --out s.png --rate 8000 --window 512 --hop 64
            """)

    @Argument(help: "Audio file.") var file: String
    @Option(help: "Output PNG.") var out: String
    @Option(help: "Resample to this rate first (default: the file's rate).") var rate: Int?
    @Option(help: "Samples per frame, even (default 256).") var window: Int = 256
    @Option(help: "Samples between frames (default 64).") var hop: Int = 64
    @Option(help: "Dynamic range shown, dB (default 80).") var range: Float = 80

    func validate() throws {
        if window < 4 || window > 1 << 16 || window % 2 != 0 { throw ValidationError("--window must be even and in 4…65536 (got \(window))") }
        if hop < 1 || hop > window { throw ValidationError("--hop must be in 1…window (got \(hop))") }
        if !(range > 0 && range.isFinite) { throw ValidationError("--range must be positive (got \(range))") }
        if let rate, rate < 1 { throw ValidationError("--rate must be positive (got \(rate))") }
    }

    func run() throws {
        var audio: AudioBuffer
        do {
            audio = try AudioFile.read(file).mono()
            if let rate, rate != audio.sampleRate { audio = try audio.resampled(to: rate) }
        } catch let e as MediaError { throw CommandError("\(e)") }
        guard audio.frames > 0 else { throw CommandError("\(file): no samples") }
        let frames = max(1, (audio.frames - window + hop - 1) / hop + 1)
        guard frames <= 20000 else { throw CommandError("\(file): \(frames) frames would make an image wider than 20000 pixels; raise --hop") }
        let s = Spectrogram(samples: audio.samples, window: window, hop: hop)
        do { try PNGFile.write(s.image(range: range), to: out) } catch { throw CommandError("\(error)") }
        var line = JSONLine()
        line.add("file", file)
        line.add("out", out)
        line.add("width", s.frames)
        line.add("height", s.bins)
        line.add("sample_rate", audio.sampleRate)
        line.print()
    }
}
