import Foundation
import MediaIO
import SSMCore

/// Log-magnitude short-time Fourier transform of mono audio, as an image.
///
///     frame t: x[t·hop ..< t·hop + window] · hann          (zero past the end)
///     S[f, t] = 20·log10(|FFT(frame t)[f]| + 1e-6)         f = 0 … window/2
///
/// The image is `(window/2 + 1) × frames`, low frequencies at the bottom, the top `range` dB mapped
/// from dark to bright through a black–purple–orange–yellow colour map.
public struct Spectrogram {
    public let window: Int, hop: Int
    /// `S` in dB, `(bins, frames)` row-major.
    public let decibels: [Float]
    public let bins: Int, frames: Int

    public init(samples: [Float], window: Int = 256, hop: Int = 64) {
        precondition(window >= 4 && window % 2 == 0 && hop >= 1, "window must be even and ≥ 4, hop ≥ 1")
        self.window = window; self.hop = hop
        let frameCount = max(1, (samples.count - window + hop - 1) / hop + 1)
        frames = frameCount
        bins = window / 2 + 1
        var framed = [Float](repeating: 0, count: frameCount * window)
        for t in 0..<frameCount {
            for i in 0..<window {
                let j = t * hop + i
                guard j < samples.count else { break }
                let w = 0.5 - 0.5 * cos(2 * Float.pi * Float(i) / Float(window))
                framed[t * window + i] = samples[j] * w
            }
        }
        let spectrum = FFT.rfftn(Tensor(shape: [frameCount, window], data: framed), size: [window])   // (F, bins, 2)
        var db = [Float](repeating: 0, count: bins * frameCount)
        for t in 0..<frameCount {
            for f in 0..<bins {
                let re = spectrum.data[(t * bins + f) * 2], im = spectrum.data[(t * bins + f) * 2 + 1]
                db[f * frameCount + t] = 20 * log10((re * re + im * im).squareRoot() + 1e-6)
            }
        }
        decibels = db
    }

    /// The bin of the largest value in frame `t`.
    public func peakBin(frame t: Int) -> Int {
        var best = 0
        for f in 1..<bins where decibels[f * frames + t] > decibels[best * frames + t] { best = f }
        return best
    }

    /// An RGB image of the top `range` dB.
    public func image(range: Float = 80) -> Image {
        let top = decibels.max() ?? 0
        var pixels = [Float](repeating: 0, count: 3 * bins * frames)
        let stops: [(Float, Float, Float)] = [(0, 0, 0.02), (0.35, 0.05, 0.45), (0.85, 0.3, 0.25), (1, 0.65, 0.1), (1, 1, 0.75)]
        for f in 0..<bins {
            let row = bins - 1 - f                                    // low frequencies at the bottom
            for t in 0..<frames {
                let v = min(1, max(0, (decibels[f * frames + t] - (top - range)) / range))
                let pos = v * Float(stops.count - 1), i = min(Int(pos), stops.count - 2), w = pos - Float(i)
                let a = stops[i], b = stops[i + 1]
                let rgb = [a.0 + (b.0 - a.0) * w, a.1 + (b.1 - a.1) * w, a.2 + (b.2 - a.2) * w]
                for c in 0..<3 { pixels[(c * bins + row) * frames + t] = rgb[c] }
            }
        }
        return Image(channels: 3, height: bins, width: frames, pixels: pixels)
    }
}
