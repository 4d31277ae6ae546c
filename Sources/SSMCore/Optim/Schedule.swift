#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Cosine learning-rate schedule with linear warm-up, as a multiplier of each group's base rate
/// (the convention of `transformers.get_cosine_schedule_with_warmup`, used by the official
/// training configs' `cosine_warmup` scheduler):
///
///     step < warmup:  step / warmup
///     otherwise:      floor + (1 − floor) · ½ (1 + cos(π · progress)),
///                     progress = (step − warmup) / (total − warmup), clamped to [0, 1]
///
/// `step` counts optimiser steps from 0. With `floor = 0` the rate reaches 0 at `total`.
public struct CosineSchedule: Sendable, Equatable {
    public var warmupSteps: Int
    public var totalSteps: Int
    public var floor: Float

    public init(warmupSteps: Int, totalSteps: Int, floor: Float = 0) {
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(totalSteps, self.warmupSteps)
        self.floor = floor
    }

    /// The learning-rate multiplier at `step`.
    public func multiplier(at step: Int) -> Float {
        if step < warmupSteps { return Float(step) / Float(max(1, warmupSteps)) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, max(0, Double(step - warmupSteps) / Double(span)))
        let c = 0.5 * (1 + cos(Double.pi * progress))
        return floor + (1 - floor) * Float(c)
    }
}
