import SSMCore

/// SaShiMi's down-pooling (official `DownPool`): folds `p` consecutive steps into the features and
/// maps them to `expand·H` features, `(B, H, L) → (B, expand·H, L/p)`:
///
///     x[b, h·p + s, t] = x[b, h, t·p + s]          (rearrange '… h (l s) -> … (h s) l')
///     y = linear(x)                                 weight (expand·H, H·p, 1)
///
/// Step mode gathers `p` inputs and emits one output on every `p`-th step (nothing on the others).
public final class DownPool: SequenceLayer {
    public let linear: PointwiseLinear
    public let pool: Int
    public let inputFeatures: Int

    public init(features: Int, expand: Int, pool: Int, rng: inout SeededRNG) {
        precondition(features > 0 && expand > 0 && pool > 0, "DownPool needs positive features, expand and pool")
        inputFeatures = features
        self.pool = pool
        linear = PointwiseLinear(features * pool, features * expand, rng: &rng)
    }

    public var outputFeatures: Int { linear.outFeatures }
    public var namedParameters: [(String, Variable)] { linear.namedParameters.map { ("linear." + $0.0, $0.1) } }

    public func forward(_ x: Variable, rate: Float) -> Variable {
        let (b, h, l) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(h == inputFeatures && l % pool == 0, "DownPool(\(pool)) needs (B, \(inputFeatures), L) with L a multiple of \(pool), got \(x.shape)")
        let folded = x.reshaped([b, h, l / pool, pool]).permuted([0, 1, 3, 2]).reshaped([b, h * pool, l / pool])
        return linear(folded)
    }

    public var hasStepMode: Bool { true }

    public final class State: StepState {
        public let batch: Int
        let affine: StepAffine
        /// The inputs gathered so far, `(B, H, p)`.
        let gathered: StepBuffer
        var count = 0
        init(batch: Int, features: Int, pool: Int, affine: StepAffine) {
            self.batch = batch
            self.affine = affine
            gathered = StepBuffer(batch * features * pool)
        }
    }

    public func defaultState(batch: Int) -> any StepState {
        State(batch: batch, features: inputFeatures, pool: pool, affine: linear.stepAffine())
    }

    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let x else { preconditionFailure("DownPool needs an input at every step") }
        let (h, p) = (inputFeatures, pool)
        for i in 0..<(s.batch * h) { s.gathered.pointer[i * p + s.count] = x[i] }
        s.count += 1
        guard s.count == p else { return false }
        s.count = 0
        s.affine.apply(s.gathered.pointer, batch: s.batch, into: y)     // (B, H·p) → (B, expand·H)
        return true
    }
}

/// SaShiMi's up-pooling (official `UpPool`): maps `H` features to `p·H/expand` and unfolds them into
/// `p` steps, shifted one (pooled) step later so that output `t` depends only on inputs before the
/// pooled block that contains `t` (causality), `(B, H, L) → (B, H/expand, L·p)`:
///
///     z = linear(x)                                 weight ((H/expand)·p, H, 1)
///     z = [0, z[…, :-1]]                            shift right by one pooled step
///     y[b, h, t·p + s] = z[b, h·p + s, t]           (rearrange '… (h s) l -> … h (l s)')
///
/// Step mode emits one output every step from a queue of `p`; when the queue runs out it takes an
/// input (the coarser level's newest output) and refills it; on the other steps its input is `nil`.
public final class UpPool: SequenceLayer {
    public let linear: PointwiseLinear
    public let pool: Int
    public let inputFeatures: Int
    public let outputFeatures: Int

    public init(features: Int, expand: Int, pool: Int, rng: inout SeededRNG) {
        precondition(features > 0 && expand > 0 && features % expand == 0 && pool > 0, "UpPool needs features divisible by expand, positive pool")
        inputFeatures = features
        outputFeatures = features / expand
        self.pool = pool
        linear = PointwiseLinear(features, outputFeatures * pool, rng: &rng)
    }

    public var namedParameters: [(String, Variable)] { linear.namedParameters.map { ("linear." + $0.0, $0.1) } }

    public func forward(_ x: Variable, rate: Float) -> Variable {
        let (b, l) = (x.shape[0], x.shape[2])
        precondition(x.shape[1] == inputFeatures, "UpPool expects (B, \(inputFeatures), L), got \(x.shape)")
        var z = linear(x)                                                  // (B, H′·p, L)
        z = z.slice(axis: 2, 0..<(l - 1)).padded(axis: 2, before: 1, after: 0)
        return z.reshaped([b, outputFeatures, pool, l]).permuted([0, 1, 3, 2]).reshaped([b, outputFeatures, l * pool])
    }

    public var hasStepMode: Bool { true }

    public final class State: StepState {
        public let batch: Int
        let affine: StepAffine
        /// The queued outputs `(B, H′, p)` and how many of them have been emitted.
        let queue: StepBuffer
        var emitted = 0
        init(batch: Int, features: Int, pool: Int, affine: StepAffine) {
            self.batch = batch
            self.affine = affine
            queue = StepBuffer(batch * features * pool)
        }
    }

    public func defaultState(batch: Int) -> any StepState {
        State(batch: batch, features: outputFeatures, pool: pool, affine: linear.stepAffine())
    }

    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        let (h, p) = (outputFeatures, pool)
        for i in 0..<(s.batch * h) { y[i] = s.queue.pointer[i * p + s.emitted] }
        s.emitted += 1
        if s.emitted == p {
            guard let x else { preconditionFailure("UpPool needs an input when its queue runs out") }
            s.affine.apply(x, batch: s.batch, into: s.queue.pointer)         // (B, H) → (B, H′·p) = (B, H′, p)
            s.emitted = 0
        }
        return true
    }
}
