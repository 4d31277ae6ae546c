import Foundation
import Sashimi

/// Count-based predictors of the next class, the yardsticks for a model's bits per sample:
/// `order = 0` is the unigram (the entropy of the class distribution), `order = n` conditions on
/// the previous `n` classes, with add-`α` smoothing and interpolation down to the unigram
/// (`p = λ·p_n + (1 − λ)·p_{n−1}`, `λ = c/(c + K)` for a context seen `c` times).
public struct NGramBaseline {
    public let order: Int
    public let classes: Int
    let counts: [[UInt64: [UInt32]]]       // per order: context key → class counts
    let totals: [[UInt64: Int]]
    let unigram: [Double]

    /// Counts over `clips`, each clip preceded by silence (as the model sees it).
    public init(order: Int, clips: [AudioClip], quantizer: AudioQuantizer, smoothing: Double = 0.5) {
        precondition(order >= 0 && order <= 4, "order must be in 0…4")
        self.order = order
        classes = quantizer.levels
        var c = [[UInt64: [UInt32]]](repeating: [:], count: order + 1)
        var t = [[UInt64: Int]](repeating: [:], count: order + 1)
        var uni = [Double](repeating: smoothing, count: classes)
        for clip in clips {
            var history = [Int](repeating: quantizer.zero, count: order)
            for v in clip.classes {
                let x = Int(v)
                uni[x] += 1
                for n in stride(from: 1, through: order, by: 1) {
                    let key = Self.key(history.suffix(n))
                    c[n][key, default: [UInt32](repeating: 0, count: classes)][x] += 1
                    t[n][key, default: 0] += 1
                }
                if order > 0 { history.removeFirst(); history.append(x) }
            }
        }
        let total = uni.reduce(0, +)
        unigram = uni.map { $0 / total }
        counts = c; totals = t
    }

    static func key(_ history: ArraySlice<Int>) -> UInt64 {
        var k: UInt64 = 0
        for h in history { k = k &* 4099 &+ UInt64(h + 1) }
        return k
    }

    func probability(_ x: Int, history: [Int]) -> Double {
        var p = unigram[x]
        for n in stride(from: 1, through: order, by: 1) {
            let key = Self.key(history.suffix(n))
            guard let total = totals[n][key], let row = counts[n][key] else { break }
            let lambda = Double(total) / Double(total + classes)
            p = lambda * Double(row[x]) / Double(total) + (1 - lambda) * p
        }
        return p
    }

    /// Cross-entropy on `clips`, bits per sample.
    public func bitsPerSample(_ clips: [AudioClip], quantizer: AudioQuantizer) -> Double {
        var bits = 0.0, n = 0
        for clip in clips {
            var history = [Int](repeating: quantizer.zero, count: order)
            for v in clip.classes {
                let x = Int(v)
                bits -= Foundation.log2(probability(x, history: history))
                n += 1
                if order > 0 { history.removeFirst(); history.append(x) }
            }
        }
        return n > 0 ? bits / Double(n) : .nan
    }
}
