import CMediaShim

extension AudioBuffer {
    /// This audio at `rate` Hz, through libswresample's windowed-sinc polyphase filter
    /// (64 taps, linear interpolation between phases), every channel alike.
    ///
    /// The output has `round(frames · rate / sampleRate)` frames; sample `t` estimates the input
    /// signal at time `t / rate` seconds.
    public func resampled(to rate: Int) throws -> AudioBuffer {
        guard rate > 0 else {
            throw MediaError(file: "<audio>", reason: .invalidArgument("target sample rate \(rate) Hz"))
        }
        if rate == sampleRate || frames == 0 {
            return AudioBuffer(sampleRate: rate, channels: channels,
                               frames: rate == sampleRate ? frames : 0, samples: rate == sampleRate ? samples : [])
        }
        let target = Int((Double(frames) * Double(rate) / Double(sampleRate)).rounded())
        let capacity = target + 256
        var out = [Float](repeating: 0, count: channels * capacity)  // (channels, capacity)
        var produced: Int64 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = samples.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                cm_resample_planar(src.baseAddress, Int32(channels), Int64(frames), Int32(sampleRate), Int32(rate),
                                   dst.baseAddress, Int64(capacity), &produced, &message, message.count)
            }
        }
        if status != 0 { throw mediaError(file: "<audio>", status: status, message: message) }
        // (channels, capacity) → (channels, target); zero-padded if the resampler produced fewer.
        var trimmed = [Float](repeating: 0, count: channels * target)
        let keep = min(target, Int(produced))
        for c in 0..<channels {
            for t in 0..<keep { trimmed[c * target + t] = out[c * capacity + t] }
        }
        return AudioBuffer(sampleRate: rate, channels: channels, frames: target, samples: trimmed)
    }
}
