import Foundation
import SSMCore

/// How the next sample is drawn from the model's distribution.
public struct SamplingOptions: Equatable, Sendable {
    /// Softmax temperature τ (logits / τ); 0 = always the most likely class.
    public var temperature: Float = 1
    /// Nucleus sampling: draw from the smallest set of most likely classes whose probability
    /// reaches `topP` (1 = all classes), as the official `generate.py`.
    public var topP: Float = 1
    public init(temperature: Float = 1, topP: Float = 1) { self.temperature = temperature; self.topP = topP }
}

/// Draws classes from logit rows with reusable scratch space (no allocation per draw).
public final class ClassSampler {
    public let classes: Int
    public let options: SamplingOptions
    let probs: StepBuffer, weights: StepBuffer
    let order: UnsafeMutablePointer<Int>

    public init(classes: Int, options: SamplingOptions) {
        self.classes = classes
        self.options = options
        probs = StepBuffer(classes)
        weights = StepBuffer(classes)
        order = .allocate(capacity: classes)
    }

    deinit { order.deallocate() }

    /// One draw from `logits` (K). Returns the class, its log-probability and the entropy (nats)
    /// of the model's own distribution (τ = 1, no nucleus), as the paper reports them.
    public func draw(_ logits: UnsafePointer<Float>, rng: inout SeededRNG) -> (token: Int, logProbability: Double, entropy: Double) {
        let k = classes, p = probs.pointer
        let lse = softmaxRow(logits, into: p, count: k)
        // H = −Σ p log p = lse − Σ p z, since log p = z − lse (no logarithm per class).
        var expected = 0.0
        for i in 0..<k { expected += Double(p[i]) * Double(logits[i]) }
        let entropy = Swift.max(0, lse - expected)
        let token: Int
        if options.temperature == 0 {
            var best = 0
            for i in 1..<k where logits[i] > logits[best] { best = i }
            token = best
        } else {
            // Nucleus: keep classes in order of probability while the mass before them is ≤ topP.
            let w = weights.pointer
            var m = -Float.infinity
            for i in 0..<k { m = Swift.max(m, logits[i]) }
            for i in 0..<k { w[i] = expf((logits[i] - m) / options.temperature) }
            if options.topP < 1 {
                for i in 0..<k { order[i] = i }
                var sorted = UnsafeMutableBufferPointer(start: order, count: k)
                sorted.sort { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
                var mass: Float = 0
                for r in 0..<k {
                    if mass > options.topP { w[order[r]] = 0 }
                    mass += p[order[r]]
                }
            }
            var total = 0.0
            for i in 0..<k { total += Double(w[i]) }
            var u = Double(rng.next() >> 11) * (1.0 / 9007199254740992.0) * total
            var pick = k - 1
            for i in 0..<k where w[i] > 0 {
                u -= Double(w[i])
                if u < 0 { pick = i; break }
            }
            if w[pick] == 0 { pick = (0..<k).last { w[$0] > 0 } ?? 0 }
            token = pick
        }
        return (token, Double(logits[token]) - lse, entropy)
    }
}
