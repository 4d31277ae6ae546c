import Foundation

/// SGConv (Li et al., "What Makes Convolutional Models Great on Long Sequence Modeling?"; the
/// `GConv` of `ctlllll/SGConv`, mode `cat_randn`): a long kernel made of `S` short sub-kernels,
/// each stretched by linear interpolation to twice the span of the previous one and damped by a
/// constant factor per scale.
///
///     S    = 1 + ⌈log₂(l_max / kernel_dim)⌉
///     sᵢ   = 2^max(0, i − 1)                                 (1, 1, 2, 4, …)
///     kᵢ   = interp(kernel_list.i, sᵢ / rate) · multiplier^(S − 1 − i)
///     k    = concat(k₀ … k_{S−1})  (cut or zero-padded to the requested length) / kernel_norm · rate
///
/// `interp` is PyTorch's `interpolate(mode='linear', align_corners=False)` with a scale factor
/// (output length ⌊Lin·s⌋, source position `(j + ½)/s − ½` clamped at 0). `kernel_norm` `(C, H, 1)`
/// is the ℓ₂ norm of the initial full kernel, fixed at initialisation (a buffer, as upstream, where
/// the first forward call sets it); `multiplier` `(1, H, 1)` is the buffer `linspace(2, 2, H)`.
/// Parameters: `kernel_list.i` `(C, H, kernel_dim)` `~ N(0, 1)`, SSM parameters (their own learning rate).
///
/// Rate: SGConv is a discrete FIR filter; a rate change resamples its piecewise-linear taps, each
/// sub-kernel interpolated at `sᵢ / rate` with amplitude × rate (exact for `rate = 2^−m`); the
/// reference kernel at `rate = 1`. Step mode: the FIR filter over the last taps (``FIRRecurrence``).
public final class SGConvKernel: SequenceKernel {
    public let features: Int, channels: Int, kernelDim: Int, scales: Int
    public let subKernels: [Variable]
    /// Buffers (not trained), kept in the state dict as upstream.
    public let multiplier: Variable, kernelNorm: Variable

    public var namedParameters: [(String, Variable)] {
        subKernels.enumerated().map { ("kernel_list.\($0.offset)", $0.element) } + [("multiplier", multiplier), ("kernel_norm", kernelNorm)]
    }

    public init(features h: Int, channels c: Int, kernelDim: Int, maxLength: Int, decay: Float = 2, rng: inout SeededRNG) {
        precondition(h > 0 && c > 0 && kernelDim > 0 && maxLength > 0, "SGConvKernel needs positive sizes")
        features = h; channels = c; self.kernelDim = kernelDim
        scales = 1 + max(0, Int((log2(Double(maxLength) / Double(kernelDim))).rounded(.up)))
        subKernels = (0..<scales).map { i in
            let v = Variable(Tensor(shape: [c, h, kernelDim], data: (0..<(c * h * kernelDim)).map { _ in rng.normal() }),
                             requiresGrad: true, name: "kernel_list.\(i)")
            v.role = .ssm
            return v
        }
        multiplier = Variable(Tensor(repeating: decay, shape: [1, h, 1]), name: "multiplier")
        kernelNorm = Variable(Tensor(repeating: 1, shape: [c, h, 1]), name: "kernel_norm")
        // kernel_norm = ‖full kernel‖₂ of the initial taps.
        let full = Autograd.withoutGradients { unnormalised(rate: 1).value }
        let len = full.shape[2]
        for row in 0..<(c * h) {
            var s: Double = 0
            for j in 0..<len { let v = Double(full.data[row * len + j]); s += v * v }
            kernelNorm.value.data[row] = Float(s.squareRoot())
        }
    }

    /// The concatenated, damped sub-kernels before normalisation `(C, H, Σ lengths)`.
    func unnormalised(rate: Float) -> Variable {
        let pieces = subKernels.enumerated().map { i, k -> Variable in
            let s = Double(1 << max(0, i - 1)) / Double(rate)
            let m = interpolationMatrix(inputLength: kernelDim, scale: s)          // (Lin, Lout)
            let stretched = matmul(k.reshaped([channels * features, kernelDim]), Variable.constant(m))
                .reshaped([channels, features, m.shape[1]])
            let damp = multiplier.value.map { pow($0, Float(scales - 1 - i)) }     // (1, H, 1)
            return stretched * Variable.constant(damp)
        }
        return concat(pieces, axis: 2)
    }

    public func kernel(length L: Int, rate: Float) -> Variable {
        var k = unnormalised(rate: rate)
        let n = k.shape[2]
        if n > L { k = k.slice(axis: 2, 0..<L) } else if n < L { k = k.padded(axis: 2, before: 0, after: L - n) }
        return k / Variable.constant(kernelNorm.value) * rate
    }

    /// The FIR filter of the taps at `rate`.
    public func recurrence(rate: Float) -> (any KernelRecurrence)? {
        let taps = Autograd.withoutGradients { unnormalised(rate: rate) }
        return FIRRecurrence(taps: Autograd.withoutGradients { (taps / Variable.constant(kernelNorm.value) * rate).value })
    }

    public static let entry = KernelEntry(
        name: "sgconv", summary: "SGConv: multi-scale interpolated sub-kernels with decaying weights",
        initializations: ["randn"], discretizations: [], hasStepMode: true, continuousTime: false,
        rateNote: "taps resampled: each sub-kernel interpolated at s/rate, amplitude × rate"
    ) { o, shape, rng in
        let dim = o.kernelDim ?? 16
        guard let l = shape.maxLength else {
            throw KernelOptionsError.invalid(field: "l_max", value: "null", reason: "sgconv needs the layer's training length")
        }
        return SGConvKernel(features: shape.features, channels: shape.channels, kernelDim: min(dim, l), maxLength: l, rng: &rng)
    }
}

/// `(Lin, Lout)` matrix of PyTorch's `interpolate(mode='linear', align_corners=False, scale_factor=s)`:
/// `out[j] = (1 − λ)·x[i₀] + λ·x[i₁]`, `src = max((j + ½)/s − ½, 0)`, `i₀ = ⌊src⌋`, `i₁ = min(i₀ + 1, Lin − 1)`.
func interpolationMatrix(inputLength lin: Int, scale s: Double) -> Tensor {
    let lout = max(1, Int((Double(lin) * s).rounded(.down)))
    var m = Tensor.zeros([lin, lout])
    for j in 0..<lout {
        let src = max((Double(j) + 0.5) / s - 0.5, 0)
        let i0 = min(Int(src.rounded(.down)), lin - 1)
        let lam = Float(src - Double(i0))
        let i1 = min(i0 + 1, lin - 1)
        m.data[i0 * lout + j] += 1 - lam
        m.data[i1 * lout + j] += lam
    }
    return m
}

/// A causal FIR filter as a recurrence: the state keeps the last `Lk` inputs per feature,
/// `y_t[c, h] = Σ_j k[c, h, j] · u_{t−j}[h]` (exact: the kernel's own convolution).
public struct FIRRecurrence: KernelRecurrence {
    public let features: Int, channels: Int
    /// Taps `(C, H, Lk)`.
    let taps: [Float]
    let length: Int

    public init(taps t: Tensor) {
        precondition(t.rank == 3, "FIR taps must be (C, H, Lk)")
        channels = t.shape[0]; features = t.shape[1]; length = t.shape[2]; taps = t.data
    }

    public var stateCount: Int { features * length }

    /// State per sequence: `(H, Lk)`, newest input first.
    public func step(_ u: UnsafePointer<Float>, batch: Int, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let (h, lk, c) = (features, length, channels)
        taps.withUnsafeBufferPointer { tb in
            for b in 0..<batch {
                for hi in 0..<h {
                    let s = state + (b * h + hi) * lk
                    var j = lk - 1
                    while j > 0 { s[j] = s[j - 1]; j -= 1 }
                    s[0] = u[b * h + hi]
                    for ci in 0..<c {
                        let k = tb.baseAddress! + (ci * h + hi) * lk
                        var acc: Float = 0
                        for j in 0..<lk { acc += k[j] * s[j] }
                        y[(b * c + ci) * h + hi] = acc
                    }
                }
            }
        }
    }
}
