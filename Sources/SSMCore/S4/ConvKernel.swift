/// The baseline: a free, learned convolution kernel (the official `ConvKernel`), one tap per
/// sample up to the training length.
///
/// Parameter `kernel` `(C, H, Lk)`, `Lk` = `kernel_dim` or the layer's `l_max`, initialised
/// `N(0, 1/(H·Lk))`, marked as an SSM parameter (the official code registers it with the
/// kernel's learning rate). `kernel(length: L)` returns the first `min(L, Lk)` taps followed by
/// zeros. It has no continuous-time meaning: at another resolution (`rate ≠ 1`) the same taps are
/// used per sample, which is exactly what a resolution-agnostic kernel avoids. Step mode: the FIR
/// filter over the last `Lk` inputs (``FIRRecurrence``).
public final class ConvKernel: SequenceKernel {
    public let taps: Variable
    public let features: Int, channels: Int

    public var namedParameters: [(String, Variable)] { [("kernel", taps)] }

    public init(features: Int, channels: Int, length: Int, rng: inout SeededRNG) {
        precondition(features > 0 && channels > 0 && length > 0, "ConvKernel needs positive sizes")
        self.features = features; self.channels = channels
        let scale = 1 / Float(features * length).squareRoot()
        taps = Variable(Tensor(shape: [channels, features, length], data: (0..<(channels * features * length)).map { _ in scale * rng.normal() }),
                        requiresGrad: true, name: "kernel")
        taps.role = .ssm
    }

    public var length: Int { taps.shape[2] }

    public func kernel(length L: Int, rate: Float) -> Variable {
        let lk = length
        if L == lk { return taps }
        if L < lk { return taps.slice(axis: 2, 0..<L) }
        return taps.padded(axis: 2, before: 0, after: L - lk)
    }

    /// The FIR filter of the taps (step mode).
    public func recurrence(rate: Float) -> (any KernelRecurrence)? { FIRRecurrence(taps: taps.value) }

    public static let entry = KernelEntry(
        name: "conv", summary: "a free learned kernel, one tap per sample (the baseline)",
        initializations: ["normal"], discretizations: [], hasStepMode: true, continuousTime: false,
        rateNote: "none: the same taps are used per sample at any resolution"
    ) { o, shape, rng in
        guard let length = o.kernelDim ?? shape.maxLength else {
            throw KernelOptionsError.invalid(field: "kernel_dim", value: "null", reason: "conv needs a kernel length (kernel_dim or the layer's l_max)")
        }
        return ConvKernel(features: shape.features, channels: shape.channels, length: length, rng: &rng)
    }
}
