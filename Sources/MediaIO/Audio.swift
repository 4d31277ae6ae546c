/// Decoded audio: `channels × frames` Float32 samples, planar (channel-major):
/// `samples[c * frames + t]` is channel `c` at frame `t`.
///
/// Integer formats map to [−1, 1) as `k / 2^(bits−1)` (16-bit 32767 → 0.999969…); float files keep
/// their stored values.
public struct AudioBuffer: Equatable, Sendable {
    /// Frames per second.
    public var sampleRate: Int
    public var channels: Int
    /// Sample frames per channel.
    public var frames: Int
    /// (channels, frames) samples.
    public var samples: [Float]

    public init(sampleRate: Int, channels: Int, frames: Int, samples: [Float]) {
        precondition(sampleRate > 0 && channels >= 1 && frames >= 0, "invalid audio \(channels)×\(frames) at \(sampleRate) Hz")
        precondition(samples.count == channels * frames,
                     "samples has \(samples.count) values, \(channels)×\(frames) needs \(channels * frames)")
        self.sampleRate = sampleRate
        self.channels = channels
        self.frames = frames
        self.samples = samples
    }

    /// Duration in seconds, `frames / sampleRate`.
    public var duration: Double { Double(frames) / Double(sampleRate) }

    /// Samples of channel `c`.
    public func channel(_ c: Int) -> ArraySlice<Float> { samples[(c * frames)..<((c + 1) * frames)] }

    /// The mean of all channels: `y[t] = (1/C) Σ_c x[c, t]`. Shape (1, frames).
    public func mono() -> AudioBuffer {
        if channels == 1 { return self }
        var out = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(channels)
        samples.withUnsafeBufferPointer { p in
            for c in 0..<channels {
                for t in 0..<frames { out[t] += p[c * frames + t] }
            }
        }
        for t in 0..<frames { out[t] *= scale }
        return AudioBuffer(sampleRate: sampleRate, channels: 1, frames: frames, samples: out)
    }
}

/// What an audio file's header says.
public struct AudioInfo: Equatable, Sendable {
    /// FFmpeg-style codec name: `pcm_s16le`, `pcm_f32le`, `pcm_mulaw`, `flac`, `vorbis`, …
    public var codec: String
    /// Container: `wav`, `aiff`, `flac`, `ogg`, …
    public var container: String
    public var sampleRate: Int
    public var channels: Int
    /// Sample frames per channel.
    public var frames: Int
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}
