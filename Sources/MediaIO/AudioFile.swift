import CMedia
import Foundation

/// Audio files through libsndfile: WAV (PCM 8/16/24/32-bit, float, μ-law, A-law, ADPCM), AIFF,
/// FLAC, Ogg Vorbis/Opus, AU, CAF and the other formats libsndfile reads.
///
/// ```swift
/// let speech = try AudioFile.read("samples/audio/speech-hello-22k.wav")   // 1 × N at 22,050 Hz
/// let mono16k = try speech.mono().resampled(to: 16_000)
/// try AudioFile.write(mono16k, to: "/tmp/out.wav")                           // 16-bit PCM
/// ```
public enum AudioFile {
    /// Sample encodings for ``write(_:to:encoding:)``.
    public enum Encoding: String, Sendable {
        /// 16-bit PCM: `clamp(round(32768 · x), −32768, 32767)`, the inverse of the reader's `k / 32768`.
        case pcm16
        /// 32-bit IEEE float, bit-exact.
        case float
    }

    /// Header information of the audio file at `path`.
    public static func info(_ path: String, limits: MediaLimits = .default) throws -> AudioInfo {
        try StandardErrorGate.silenced { try SoundFile(path: path).info }
    }

    /// Decodes the whole file into a planar Float32 buffer.
    public static func read(_ path: String, limits: MediaLimits = .default) throws -> AudioBuffer {
        try StandardErrorGate.silenced { try decode(path, limits: limits) }
    }

    static func decode(_ path: String, limits: MediaLimits) throws -> AudioBuffer {
        let file = try SoundFile(path: path)
        let info = file.info
        if info.sampleRate <= 0 || info.sampleRate > 10_000_000 {
            throw MediaError(file: path, reason: .corrupt("sample rate \(info.sampleRate) Hz"))
        }
        if info.channels < 1 { throw MediaError(file: path, reason: .corrupt("\(info.channels) channels")) }
        if info.channels > limits.maxAudioChannels {
            throw MediaError(file: path, reason: .tooLarge("\(info.channels) channels exceeds the limit of \(limits.maxAudioChannels)"))
        }
        if Double(info.frames) > limits.maxAudioSeconds * Double(info.sampleRate) {
            throw MediaError(file: path, reason: .tooLarge(
                "\(info.frames) frames at \(info.sampleRate) Hz (\(info.duration) s) exceeds the limit of \(limits.maxAudioSeconds) s"))
        }
        if info.frames * info.channels > limits.maxClipElements {
            throw MediaError(file: path, reason: .tooLarge(
                "\(info.channels) × \(info.frames) samples exceeds the limit of \(limits.maxClipElements) values"))
        }
        let channels = info.channels, frames = info.frames
        var interleaved = [Float](repeating: 0, count: channels * frames)  // (frames, channels)
        var got = 0
        while got < frames {
            let n = interleaved.withUnsafeMutableBufferPointer { p in
                Int(sf_readf_float(file.handle, p.baseAddress! + got * channels, sf_count_t(frames - got)))
            }
            if n <= 0 { break }
            got += n
        }
        let error = sf_error(file.handle)
        if error != 0 {
            throw MediaError(file: path, reason: .corrupt(String(cString: sf_error_number(error))))
        }
        if got < frames {
            throw MediaError(file: path, reason: .truncated("header declares \(frames) frames, data holds \(got)"))
        }
        if file.logMentionsTruncation {
            throw MediaError(file: path, reason: .truncated("data chunk shorter than its header declares"))
        }
        // (frames, channels) → (channels, frames)
        var planar = [Float](repeating: 0, count: channels * frames)
        interleaved.withUnsafeBufferPointer { src in
            for t in 0..<frames {
                for c in 0..<channels { planar[c * frames + t] = src[t * channels + c] }
            }
        }
        return AudioBuffer(sampleRate: info.sampleRate, channels: channels, frames: frames, samples: planar)
    }

    /// Writes `buffer` as a WAV file, atomically (a temporary file renamed into place).
    public static func write(_ buffer: AudioBuffer, to path: String, encoding: Encoding = .pcm16) throws {
        let temporary = FileAccess.temporarySibling(of: path)
        var info = SF_INFO()
        info.samplerate = Int32(buffer.sampleRate)
        info.channels = Int32(buffer.channels)
        info.format = Int32(SF_FORMAT_WAV | (encoding == .pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT))
        guard let handle = sf_open(temporary, Int32(SFM_WRITE), &info) else {
            throw MediaError(file: path, reason: .io("cannot write: \(String(cString: sf_strerror(nil)))"))
        }
        let channels = buffer.channels, frames = buffer.frames
        var written = 0
        // (channels, frames) → (frames, channels)
        switch encoding {
        case .pcm16:
            var interleaved = [Int16](repeating: 0, count: channels * frames)
            buffer.samples.withUnsafeBufferPointer { src in
                for c in 0..<channels {
                    for t in 0..<frames {
                        let v = src[c * frames + t]
                        let scaled = v.isNaN ? 0 : (v * 32768).rounded()
                        interleaved[t * channels + c] = Int16(min(max(scaled, -32768), 32767))
                    }
                }
            }
            written = Int(sf_writef_short(handle, interleaved, sf_count_t(frames)))
        case .float:
            var interleaved = [Float](repeating: 0, count: channels * frames)
            buffer.samples.withUnsafeBufferPointer { src in
                for c in 0..<channels {
                    for t in 0..<frames { interleaved[t * channels + c] = src[c * frames + t] }
                }
            }
            written = Int(sf_writef_float(handle, interleaved, sf_count_t(frames)))
        }
        let closed = sf_close(handle)
        if written != frames || closed != 0 {
            unlink(temporary)
            throw MediaError(file: path, reason: .io("cannot write: wrote \(written) of \(frames) frames"))
        }
        try FileAccess.commit(temporary, to: path)
    }

    /// FFmpeg-style name of a libsndfile sample encoding.
    static func codecName(format: Int32) -> (codec: String, container: String) {
        let major = Int(format) & SF_FORMAT_TYPEMASK, minor = Int(format) & SF_FORMAT_SUBMASK
        let endian = Int(format) & SF_FORMAT_ENDMASK
        let containers: [Int: String] = [
            SF_FORMAT_WAV: "wav", SF_FORMAT_AIFF: "aiff", SF_FORMAT_AU: "au", SF_FORMAT_RAW: "raw",
            SF_FORMAT_W64: "w64", SF_FORMAT_CAF: "caf", SF_FORMAT_FLAC: "flac", SF_FORMAT_OGG: "ogg",
            SF_FORMAT_RF64: "rf64", SF_FORMAT_WAVEX: "wav", SF_FORMAT_NIST: "nist", SF_FORMAT_VOC: "voc",
            SF_FORMAT_IRCAM: "ircam", SF_FORMAT_PAF: "paf", SF_FORMAT_SVX: "8svx", SF_FORMAT_MPEG: "mp3",
        ]
        let container = containers[major] ?? "unknown"
        let bigEndian = endian == SF_ENDIAN_BIG || (endian == 0 && (major == SF_FORMAT_AIFF || major == SF_FORMAT_AU))
        let e = bigEndian ? "be" : "le"
        if major == SF_FORMAT_FLAC { return ("flac", container) }
        let codecs: [Int: String] = [
            SF_FORMAT_PCM_S8: "pcm_s8", SF_FORMAT_PCM_U8: "pcm_u8", SF_FORMAT_PCM_16: "pcm_s16\(e)",
            SF_FORMAT_PCM_24: "pcm_s24\(e)", SF_FORMAT_PCM_32: "pcm_s32\(e)", SF_FORMAT_FLOAT: "pcm_f32\(e)",
            SF_FORMAT_DOUBLE: "pcm_f64\(e)", SF_FORMAT_ULAW: "pcm_mulaw", SF_FORMAT_ALAW: "pcm_alaw",
            SF_FORMAT_IMA_ADPCM: "adpcm_ima_wav", SF_FORMAT_MS_ADPCM: "adpcm_ms", SF_FORMAT_GSM610: "gsm",
            SF_FORMAT_VORBIS: "vorbis", SF_FORMAT_OPUS: "opus", SF_FORMAT_MPEG_LAYER_III: "mp3",
            SF_FORMAT_MPEG_LAYER_II: "mp2", SF_FORMAT_MPEG_LAYER_I: "mp1", SF_FORMAT_G721_32: "adpcm_g726",
        ]
        return (codecs[minor] ?? "unknown", container)
    }
}

/// Owns a libsndfile handle opened for reading; closes it on deinit.
final class SoundFile {
    let handle: OpaquePointer
    let info: AudioInfo
    let path: String

    init(path: String) throws {
        _ = try FileAccess.checkReadable(path)
        var sfinfo = SF_INFO()
        guard let handle = SystemPath.withCString(path, { sf_open($0, Int32(SFM_READ), &sfinfo) }) else {
            let reason = String(cString: sf_strerror(nil))
            let lowered = reason.lowercased()
            if lowered.contains("format") || lowered.contains("recognised") || lowered.contains("recognized") {
                throw MediaError(file: path, reason: .unsupported("not an audio format libsndfile reads (\(reason))"))
            }
            throw MediaError(file: path, reason: .corrupt(reason))
        }
        self.handle = handle
        self.path = path
        let names = AudioFile.codecName(format: sfinfo.format)
        info = AudioInfo(codec: names.codec, container: names.container, sampleRate: Int(sfinfo.samplerate),
                         channels: Int(sfinfo.channels), frames: Int(max(0, sfinfo.frames)))
    }

    /// libsndfile logs (rather than fails on) a sample-data chunk declared longer than the file,
    /// as `data : 99882 (should be 49956)` (WAV) or `SSND : … (should be …)` (AIFF).
    var logMentionsTruncation: Bool {
        var log = [CChar](repeating: 0, count: 8192)
        _ = sf_command(handle, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        return String(cString: log).split(separator: "\n").contains { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return (trimmed.hasPrefix("data") || trimmed.hasPrefix("SSND")) && trimmed.contains("(should be")
        }
    }

    deinit { sf_close(handle) }
}
