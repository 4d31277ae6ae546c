import Foundation

/// How waveform values in [−1, 1] become the model's `2^bits` classes, as the official audio
/// datasets do it (`src/dataloaders/audio.py`):
///
/// * μ-law (default): `e = sign(x)·log(1 + μ|x|)/log(1 + μ)` with `μ = 2^bits − 1`, then linear;
/// * linear: `e = x`;
///
/// then `q = ⌊(e + 1)/2 · (2^bits − 0.01) + 0.005⌋`. Decoding: `e = q/(2^bits/2) − 1`, and for μ-law
/// `x = sign(e)·((1 + μ)^|e| − 1)/μ`. Class `2^(bits−1)` decodes to 0 (silence), the first input
/// of a generated sequence. Inputs outside [−1, 1] are clipped.
public struct AudioQuantizer: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case mulaw
        case linear
    }

    public var kind: Kind
    public var bits: Int

    public init(kind: Kind = .mulaw, bits: Int = 8) {
        precondition((1...16).contains(bits), "bits must be in 1…16")
        self.kind = kind
        self.bits = bits
    }

    /// `2^bits`.
    public var levels: Int { 1 << bits }
    /// The class of silence.
    public var zero: Int { levels / 2 }

    public func encode(_ x: Float) -> Int {
        let v = Swift.min(1, Swift.max(-1, x.isNaN ? 0 : x))
        let e: Float
        switch kind {
        case .mulaw:
            let mu = Float(levels - 1)
            e = (v < 0 ? -1 : 1) * Foundation.log1p(mu * Swift.abs(v)) / Foundation.log1p(mu)
        case .linear:
            e = v
        }
        let q = Int(((e + 1) / 2 * (Float(levels) - 0.01) + 0.005).rounded(.down))
        return Swift.min(levels - 1, Swift.max(0, q))
    }

    public func decode(_ q: Int) -> Float {
        let e = Float(q) / Float(levels / 2) - 1
        switch kind {
        case .mulaw:
            let mu = Float(levels - 1)
            return (e < 0 ? -1 : 1) * (Foundation.pow(1 + mu, Swift.abs(e)) - 1) / mu
        case .linear:
            return e
        }
    }

    public func encode(_ x: [Float]) -> [UInt16] { x.map { UInt16(encode($0)) } }
    public func decode(_ q: [UInt16]) -> [Float] { q.map { decode(Int($0)) } }
}
