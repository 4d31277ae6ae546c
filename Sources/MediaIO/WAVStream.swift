import Foundation

/// A 16-bit PCM WAV written while its samples are produced.
///
/// * To a file: the samples go to a temporary file beside the target; ``finish()`` writes the
///   final sizes into the header and renames it into place. A writer dropped without `finish()`
///   (an error, an interrupted run) removes its temporary file, so no broken WAV is ever left.
/// * To a stream (standard output, a pipe): the header is sent first with the RIFF and data sizes
///   set to `0xFFFFFFFF` ("unknown length", which players and `sox` accept), then the samples as
///   they come, so `… | aplay` plays while the samples are generated.
///
/// Samples are interleaved floats in [−1, 1], written as `clamp(round(32768·x), −32768, 32767)`
/// (the inverse of the reader's `k / 32768`), the same rule as ``AudioFile/write(_:to:encoding:)``.
public final class WAVStreamWriter {
    public let sampleRate: Int
    public let channels: Int
    /// The target path, or `nil` for a stream.
    public let path: String?
    /// Frames written so far.
    public private(set) var frames = 0
    private let fd: Int32
    private let temporary: String?
    private var finished = false
    private var scratch: [UInt8] = []

    /// A WAV file at `path`, written atomically.
    public init(path: String, sampleRate: Int, channels: Int = 1) throws {
        try Self.check(sampleRate: sampleRate, channels: channels, file: path)
        let tmp = FileAccess.temporarySibling(of: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaError(file: path, reason: .io("cannot write: \(String(cString: strerror(errno)))")) }
        self.path = path; self.fd = fd; temporary = tmp
        self.sampleRate = sampleRate; self.channels = channels
        do { try send(header(dataBytes: 0)) } catch { close(fd); unlink(tmp); throw error }
    }

    /// A WAV stream on the open file descriptor `fd` (not closed by the writer), e.g. `STDOUT_FILENO`.
    public init(streamingTo fd: Int32, sampleRate: Int, channels: Int = 1) throws {
        try Self.check(sampleRate: sampleRate, channels: channels, file: "<stdout>")
        self.path = nil; self.fd = fd; temporary = nil
        self.sampleRate = sampleRate; self.channels = channels
        try send(header(dataBytes: nil))
    }

    deinit {
        if let temporary, !finished { close(fd); unlink(temporary) }
    }

    private static func check(sampleRate: Int, channels: Int, file: String) throws {
        guard (1...1_000_000).contains(sampleRate), (1...64).contains(channels) else {
            throw MediaError(file: file, reason: .invalidArgument("\(channels) channels at \(sampleRate) Hz"))
        }
    }

    /// Appends interleaved samples (a multiple of `channels`).
    public func write(_ samples: UnsafeBufferPointer<Float>) throws {
        precondition(!finished, "write after finish")
        precondition(samples.count % channels == 0, "samples must be whole frames")
        scratch.removeAll(keepingCapacity: true)
        scratch.reserveCapacity(2 * samples.count)
        for x in samples {
            let v = x.isNaN ? 0 : Swift.min(32767, Swift.max(-32768, (x * 32768).rounded()))
            let k = UInt16(bitPattern: Int16(v))
            scratch.append(UInt8(k & 0xFF)); scratch.append(UInt8(k >> 8))
        }
        try send(scratch)
        frames += samples.count / channels
    }

    public func write(_ samples: [Float]) throws { try samples.withUnsafeBufferPointer { try write($0) } }

    /// Completes the file: final sizes in the header, then the rename into place. For a stream,
    /// nothing more is sent.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        guard let temporary, let path else { return }
        let dataBytes = frames * channels * 2
        guard dataBytes <= Int(UInt32.max) - 36 else {
            close(fd); unlink(temporary)
            throw MediaError(file: path, reason: .tooLarge("\(frames) frames do not fit in a WAV file"))
        }
        do {
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw MediaError(file: path, reason: .io("cannot seek: \(String(cString: strerror(errno)))")) }
            try send(header(dataBytes: dataBytes))
            guard fsync(fd) == 0 || errno == EINVAL else { throw MediaError(file: path, reason: .io("cannot write: \(String(cString: strerror(errno)))")) }
        } catch { close(fd); unlink(temporary); throw error }
        close(fd)
        try FileAccess.commit(temporary, to: path)
    }

    /// The 44-byte header; `nil` sizes are "unknown" (streaming).
    private func header(dataBytes: Int?) -> [UInt8] {
        var h: [UInt8] = []
        func u32(_ v: UInt32) { for i in 0..<4 { h.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        func u16(_ v: UInt16) { h.append(UInt8(v & 0xFF)); h.append(UInt8(v >> 8)) }
        h += Array("RIFF".utf8); u32(dataBytes.map { UInt32(36 + $0) } ?? 0xFFFF_FFFF)
        h += Array("WAVE".utf8)
        h += Array("fmt ".utf8); u32(16); u16(1); u16(UInt16(channels)); u32(UInt32(sampleRate))
        u32(UInt32(sampleRate * channels * 2)); u16(UInt16(channels * 2)); u16(16)
        h += Array("data".utf8); u32(dataBytes.map { UInt32($0) } ?? 0xFFFF_FFFF)
        return h
    }

    private func send(_ bytes: [UInt8]) throws {
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    let why = errno == EPIPE ? "closed pipe" : String(cString: strerror(errno))
                    throw MediaError(file: path ?? "<stdout>", reason: .io("cannot write: \(why)"))
                }
                done += n
            }
        }
    }
}
