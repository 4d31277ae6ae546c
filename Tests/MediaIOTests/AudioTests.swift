import Foundation
import MediaIO
import SSMCore
import TestSupport
import XCTest

final class AudioTests: XCTestCase {
    /// Every sample WAV equals `ffmpeg -f s16le` of the same file to within 1 LSB.
    func testSamplesMatchFFmpegS16() throws {
        let files = Tools.sampleFiles("audio")
        XCTAssertGreaterThanOrEqual(files.count, 2)
        for path in files {
            let audio = try AudioFile.read(path)
            let raw = try Tools.ffmpeg(path, ["-f", "s16le", "-acodec", "pcm_s16le"])
            XCTAssertEqual(raw.count, audio.frames * audio.channels * 2, path)
            var worst = 0
            for t in 0..<audio.frames {
                for c in 0..<audio.channels {
                    let k = 2 * (t * audio.channels + c)
                    let reference = Int(Int16(bitPattern: UInt16(raw[k]) | UInt16(raw[k + 1]) << 8))
                    let ours = Int((audio.samples[c * audio.frames + t] * 32768).rounded(.down))
                    worst = max(worst, abs(reference - ours))
                }
            }
            print("audio parity \((path as NSString).lastPathComponent): max |ours − ffmpeg s16le| = \(worst) LSB")
            XCTAssertLessThanOrEqual(worst, 1, "\(path): max difference \(worst) LSB")
            let info = try AudioFile.info(path)
            XCTAssertEqual(info.frames, audio.frames)
            XCTAssertEqual(info.sampleRate, audio.sampleRate)
        }
    }

    func testWriteReadRoundTrips() throws {
        var rng = SeededRNG(seed: 9)
        let folder = TestSupport.temporaryDirectory("audio")
        defer { try? FileManager.default.removeItem(at: folder) }
        // 16-bit: values k / 32768 survive exactly, including both extremes.
        var values = (0..<(2 * 1000)).map { _ in Float(Int(rng.next() % 65536) - 32768) / 32768 }
        values[0] = -1; values[1] = Float(32767) / 32768
        let pcm = AudioBuffer(sampleRate: 16000, channels: 2, frames: 1000, samples: values)
        let pcmPath = folder.appendingPathComponent("pcm.wav").path
        try AudioFile.write(pcm, to: pcmPath)
        XCTAssertEqual(try AudioFile.read(pcmPath), pcm)
        XCTAssertEqual(try AudioFile.info(pcmPath).codec, "pcm_s16le")
        // Out-of-range values clip.
        let loud = AudioBuffer(sampleRate: 8000, channels: 1, frames: 2, samples: [1.5, -2])
        try AudioFile.write(loud, to: pcmPath)
        XCTAssertEqual(try AudioFile.read(pcmPath).samples, [Float(32767) / 32768, -1])
        // Float: bit-exact.
        let floats = AudioBuffer(sampleRate: 44100, channels: 3, frames: 500,
                                 samples: (0..<1500).map { _ in rng.normal() * 0.3 })
        let floatPath = folder.appendingPathComponent("float.wav").path
        try AudioFile.write(floats, to: floatPath, encoding: .float)
        XCTAssertEqual(try AudioFile.read(floatPath), floats)
        XCTAssertEqual(try AudioFile.info(floatPath).codec, "pcm_f32le")
    }

    /// The formats libsndfile reads, made by sox from one speech sample, decode to the same signal
    /// within each format's quantisation error.
    func testOtherFormatsDecode() throws {
        let source = Tools.samples.appendingPathComponent("audio/speech-digits-16k.wav").path
        let reference = try AudioFile.read(source)
        let folder = TestSupport.temporaryDirectory("formats")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(name: String, args: [String], codec: String, tolerance: Float)] = [
            ("u8.wav", ["-b", "8", "-e", "unsigned-integer"], "pcm_u8", 1.0 / 256 + 1e-6),
            ("s24.wav", ["-b", "24"], "pcm_s24le", 1e-6),
            ("s32.wav", ["-b", "32"], "pcm_s32le", 1e-6),
            ("f32.wav", ["-e", "floating-point", "-b", "32"], "pcm_f32le", 1e-6),
            ("ulaw.wav", ["-e", "u-law"], "pcm_mulaw", 0.02),
            ("alaw.wav", ["-e", "a-law"], "pcm_alaw", 0.02),
            ("s16.aiff", [], "pcm_s16be", 1e-6),
            ("s16.flac", [], "flac", 1e-6),
        ]
        for c in cases {
            let path = folder.appendingPathComponent(c.name).path
            _ = try Tools.run("sox", ["-D", source] + c.args + [path])  // -D: no dither, plain rounding
            let audio = try AudioFile.read(path)
            XCTAssertEqual(try AudioFile.info(path).codec, c.codec, c.name)
            XCTAssertEqual(audio.frames, reference.frames, c.name)
            XCTAssertEqual(audio.sampleRate, 16000, c.name)
            let d = maxAbsDifference(audio.samples, reference.samples)
            XCTAssertLessThanOrEqual(d.value, c.tolerance, "\(c.name) max diff at \(d.index)")
        }
        let ogg = folder.appendingPathComponent("speech.ogg").path
        _ = try Tools.run("sox", [source, ogg])
        let vorbis = try AudioFile.read(ogg)
        XCTAssertEqual(try AudioFile.info(ogg).codec, "vorbis")
        XCTAssertEqual(vorbis.sampleRate, 16000)
        XCTAssertLessThanOrEqual(abs(vorbis.frames - reference.frames), 0)
        XCTAssertLessThanOrEqual(vorbis.samples.map(abs).max()!, 1.5)
    }

    func testMonoIsChannelMean() {
        let stereo = AudioBuffer(sampleRate: 8000, channels: 2, frames: 3, samples: [1, 0.5, -1, 0, 0.5, 0.25])
        let mono = stereo.mono()
        XCTAssertEqual(mono.channels, 1)
        XCTAssertEqual(mono.samples, [0.5, 0.5, -0.375])
    }

    /// A 440 Hz sine resampled 22,050 → 16,000 Hz (and up to 48,000) equals the sine sampled at the
    /// new rate, away from the edges.
    func testResampledSineMatchesAnalyticSine() throws {
        let inRate = 22050, frames = 22050 / 2
        let f = 440.0
        let sine = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * f * Double($0) / Double(inRate))) }
        let stereo = AudioBuffer(sampleRate: inRate, channels: 2, frames: frames, samples: sine + sine.map { -$0 })
        for rate in [16000, 48000] {
            let out = try stereo.resampled(to: rate)
            XCTAssertEqual(out.sampleRate, rate)
            XCTAssertEqual(out.frames, Int((Double(frames) * Double(rate) / Double(inRate)).rounded()))
            var worst: Float = 0
            for t in 200..<(out.frames - 200) {
                let expected = Float(0.5 * sin(2 * Double.pi * f * Double(t) / Double(rate)))
                worst = max(worst, abs(out.samples[t] - expected), abs(out.samples[out.frames + t] + expected))
            }
            print("resample \(inRate) → \(rate) Hz: max |error| vs analytic sine = \(worst)")
            XCTAssertLessThan(worst, 1e-4, "\(rate) Hz: max error \(worst)")
        }
    }

    /// A tone above the target Nyquist frequency (10 kHz → 16 kHz rate) is filtered out, not aliased.
    func testResamplingRemovesTonesAboveNewNyquist() throws {
        let inRate = 44100, frames = 44100 / 4
        let tone = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * 10_000 * Double($0) / Double(inRate))) }
        let out = try AudioBuffer(sampleRate: inRate, channels: 1, frames: frames, samples: tone).resampled(to: 16000)
        let interior = out.samples[200..<(out.frames - 200)].map(abs).max()!
        print("resample 10 kHz tone 44.1 → 16 kHz: max |residual| = \(interior)")
        XCTAssertLessThan(interior, 1e-4)
    }

    func testBadInputsGiveTypedErrors() throws {
        let folder = TestSupport.temporaryDirectory("audio-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let samplePath = Tools.samples.appendingPathComponent("audio/speech-hello-22k.wav").path
        let sample = try Data(contentsOf: URL(fileURLWithPath: samplePath))

        let missing = folder.appendingPathComponent("missing.wav").path
        assertMediaError(try AudioFile.read(missing), file: missing, reasons: ["missing"])
        let empty = folder.appendingPathComponent("empty.wav").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        assertMediaError(try AudioFile.read(empty), file: empty, reasons: ["empty"])
        let text = folder.appendingPathComponent("text.wav").path
        try Data(repeating: 0x41, count: 300).write(to: URL(fileURLWithPath: text))
        assertMediaError(try AudioFile.read(text), file: text, reasons: ["unsupported"])

        for cut in [10, 30, sample.count / 2, sample.count - 1] {
            let path = folder.appendingPathComponent("cut\(cut).wav").path
            try sample.prefix(cut).write(to: URL(fileURLWithPath: path))
            assertMediaError(try AudioFile.read(path), file: path, reasons: ["truncated", "corrupt", "unsupported"])
        }
        let halfPath = folder.appendingPathComponent("cut\(sample.count / 2).wav").path
        assertMediaError(try AudioFile.read(halfPath), file: halfPath, reasons: ["truncated"])

        // A "fmt " chunk with zero channels.
        var broken = sample
        let fmt = broken.range(of: Data("fmt ".utf8))!.upperBound
        broken[fmt + 6] = 0; broken[fmt + 7] = 0
        let corrupt = folder.appendingPathComponent("corrupt.wav").path
        try broken.write(to: URL(fileURLWithPath: corrupt))
        assertMediaError(try AudioFile.read(corrupt), file: corrupt, reasons: ["corrupt", "unsupported"])

        var limits = MediaLimits.default
        limits.maxAudioSeconds = 1
        assertMediaError(try AudioFile.read(samplePath, limits: limits), file: samplePath, reasons: ["too_large"])
        limits = .default
        limits.maxClipElements = 1000
        assertMediaError(try AudioFile.read(samplePath, limits: limits), file: samplePath, reasons: ["too_large"])
        limits.maxAudioChannels = 0
        assertMediaError(try AudioFile.read(samplePath, limits: limits), file: samplePath, reasons: ["too_large"])
    }
}
