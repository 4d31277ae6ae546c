import CKernels
import Foundation

/// Pointwise activations an S4 layer can apply after its convolution or output linear.
public enum SequenceActivation: String, Sendable, Codable {
    case identity = "id"
    case gelu
    case tanh
    case sigmoid
    case glu

    /// Applies the activation; `glu` halves `channelAxis`.
    public func apply(_ x: Variable, channelAxis: Int) -> Variable {
        switch self {
        case .identity: return x
        case .gelu: return SSMCore.gelu(x)
        case .tanh: return SSMCore.tanh(x)
        case .sigmoid: return SSMCore.sigmoid(x)
        case .glu: return SSMCore.glu(x, axis: channelAxis)
        }
    }

    /// Applies a non-GLU activation in place to plain values (recurrent steps, no autograd);
    /// same formulas as ``apply(_:channelAxis:)``.
    public func applyInPlace(_ v: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .identity: return
        case .gelu: for i in v.indices { v[i] *= normalCDFAndPDF(v[i]).cdf }
        case .tanh: for i in v.indices { v[i] = Foundation.tanh(v[i]) }
        case .sigmoid: for i in v.indices { v[i] = 1 / (1 + Foundation.exp(-v[i])) }
        case .glu: preconditionFailure("GLU changes the shape; it has no in-place form")
        }
    }
}

/// An SSM convolution layer (the official `FFTConv`): a kernel from a ``SequenceKernel``, an FFT
/// convolution, a `D` skip connection and an activation, on the channel-first layout `(B, H, L)`.
///
///     k  = kernel(length: Lk, rate)                 (C′, H, Lk), Lk = L or min(L, round(l_max / rate))
///     y  = fftConvolution(u, layout(k))             (B, C·H, L)   causal or bidirectional
///     y += u · D                                    D (C, H), per output channel c
///     y  = activation(y)
///
/// `C` is `channels`; the kernel has `C′ = 2C` channels when bidirectional (forward halves first).
/// Parameters: `kernel.*` (the kernel's own names) and `D` `(C, H)`.
/// Recurrent mode (causal only), through ``SequenceLayer``: ``defaultState(batch:)`` and ``step(_:into:state:)``.
public final class FFTConv: Layer {
    public let kernel: any SequenceKernel
    /// `(C, H)` skip weights.
    public let D: Variable
    public let features: Int, channels: Int
    public let bidirectional: Bool
    public let activation: SequenceActivation
    /// Maximum kernel length (`l_max`); `nil` = as long as the input.
    public let maxKernelLength: Int?
    /// Liquid-S4 input-correlation terms (S4D kernels, causal layers; convolution mode only).
    public let liquid: LiquidTerms?

    public var namedParameters: [(String, Variable)] {
        kernel.namedParameters.map { ("kernel." + $0.0, $0.1) } + [("D", D)]
    }

    /// Wraps `kernel`, which must have `channels · (bidirectional ? 2 : 1)` channels.
    /// `D ~ N(0, 1)` from `rng`, as the official initialisation.
    public init(kernel: any SequenceKernel, channels: Int = 1, bidirectional: Bool = false,
                activation: SequenceActivation = .gelu, maxKernelLength: Int? = nil, liquid: LiquidTerms? = nil,
                rng: inout SeededRNG) {
        precondition(liquid == nil || (kernel is S4DKernel && !bidirectional), "Liquid-S4 terms need a causal S4D kernel")
        self.liquid = liquid
        precondition(kernel.channels == channels * (bidirectional ? 2 : 1),
                     "kernel has \(kernel.channels) channels; FFTConv needs \(channels * (bidirectional ? 2 : 1))")
        precondition(activation != .glu, "FFTConv does not halve its channels; use GLU in the block's output linear")
        self.kernel = kernel
        self.features = kernel.features
        self.channels = channels
        self.bidirectional = bidirectional
        self.activation = activation
        self.maxKernelLength = maxKernelLength
        D = Variable(Tensor(shape: [channels, kernel.features], data: (0..<(channels * kernel.features)).map { _ in rng.normal() }),
                     requiresGrad: true, name: "D")
        D.role = .noDecay
    }

    /// Output channels, `C·H`.
    public var outputFeatures: Int { channels * features }

    /// `u (B, H, L) → (B, C·H, L)`.
    public func callAsFunction(_ u: Variable, rate: Float = 1) -> Variable {
        precondition(u.value.rank == 3 && u.shape[1] == features, "FFTConv expects (B, \(features), L), got \(u.shape)")
        let L = u.shape[2]
        let lk = maxKernelLength.map { max(1, min(L, Int((Float($0) / rate).rounded(.toNearestOrEven)))) } ?? L
        let k = kernel.kernel(length: lk, rate: rate)                                     // (C′, H, Lk)
        let laid = layoutKernel(k, inputLength: L, bidirectional: bidirectional)         // (C, H, Lk + L)
        var y = fftConvolution(u, kernels: [laid])                                       // (B, C·H, L)
        if let liquid, let s4d = kernel as? S4DKernel {
            y = y + liquid.contribution(u, kernel: s4d, convolutionKernel: k, rate: rate)
        }
        return activation.apply(skipConnection(y, input: u, D: D), channelAxis: 1)
    }

    /// The recurrence of the current parameters (at rate 1, as the official `setup_step`), or `nil`
    /// for a bidirectional layer or a kernel without a step mode.
    public func recurrence() -> (any KernelRecurrence)? {
        bidirectional ? nil : kernel.recurrence(rate: 1)
    }

    /// Step-mode state: the kernel's recurrence (a snapshot of the discretised parameters), its
    /// state and a copy of `D`.
    public final class State: StepState {
        public let batch: Int
        let recurrence: any KernelRecurrence
        let state: StepBuffer
        let d: StepBuffer
        init(batch: Int, recurrence: any KernelRecurrence, d: Tensor) {
            self.batch = batch
            self.recurrence = recurrence
            state = StepBuffer(batch * recurrence.stateCount)
            self.d = StepBuffer(copying: d.data)
        }
    }
}

extension FFTConv: SequenceLayer {
    public var inputFeatures: Int { features }

    public func forward(_ x: Variable, rate: Float) -> Variable { self(x, rate: rate) }

    /// Liquid-S4 layers step without their input terms, as the reference does (they are not causal).
    public var hasStepMode: Bool { recurrence() != nil }

    public func defaultState(batch: Int) -> any StepState {
        guard let r = recurrence() else { preconditionFailure(bidirectional ? "a bidirectional FFTConv has no recurrent mode" : "this kernel has no recurrent mode") }
        return State(batch: batch, recurrence: r, d: D.value)
    }

    /// One step of the recurrence: `u (B, H)` → `y (B, C·H)` after the skip and activation.
    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        let s = state as! State
        guard let x else { preconditionFailure("FFTConv needs an input at every step") }
        let (bsz, c, h) = (s.batch, channels, features)
        s.recurrence.step(x, batch: bsz, state: s.state.pointer, into: y)                 // (B, C, H)
        let d = s.d.pointer
        for b in 0..<bsz { for ci in 0..<c {
            let row = y + (b * c + ci) * h, dr = d + ci * h, xr = x + b * h
            for hi in 0..<h { row[hi] += xr[hi] * dr[hi] }
        }}
        if activation == .gelu { ssm_step_gelu(y, bsz * c * h) }
        else { activation.applyInPlace(UnsafeMutableBufferPointer(start: y, count: bsz * c * h)) }
        return true
    }
}

/// The state-space `D` term: `out[b, c·H + h, l…] = y[b, c·H + h, l…] + D[c, h] · u[b, h, l…]`.
/// Shapes: `y (B, C·H, L…)`, `u (B, H, L…)`, `D (C, H)`. Gradients: `∂y = g`,
/// `∂u[b, h] = Σ_c D[c, h] g[b, c·H + h]`, `∂D[c, h] = Σ_{b, l} g[b, c·H + h, l] u[b, h, l]`.
public func skipConnection(_ y: Variable, input u: Variable, D: Variable) -> Variable {
    let (c, h) = (D.shape[0], D.shape[1])
    let bsz = u.shape[0]
    precondition(u.shape[1] == h && y.shape[0] == bsz && y.shape[1] == c * h && Array(y.shape.dropFirst(2)) == Array(u.shape.dropFirst(2)),
                 "skipConnection: y \(y.shape), u \(u.shape), D \(D.shape) do not match")
    let l = u.value.count / max(bsz * h, 1)
    var out = y.value
    let uv = u.value, dv = D.value
    out.data.withUnsafeMutableBufferPointer { o in
        for b in 0..<bsz { for ci in 0..<c { for hi in 0..<h {
            let d = dv.data[ci * h + hi]
            let dst = ((b * c + ci) * h + hi) * l, src = (b * h + hi) * l
            for j in 0..<l { o[dst + j] += d * uv.data[src + j] }
        }}}
    }
    return Variable(out, parents: [y, u, D]) { g in
        var gu = Tensor.zeros(uv.shape), gD = Tensor.zeros(dv.shape)
        for b in 0..<bsz { for ci in 0..<c { for hi in 0..<h {
            let d = dv.data[ci * h + hi]
            let src = ((b * c + ci) * h + hi) * l, dst = (b * h + hi) * l
            var acc: Double = 0
            for j in 0..<l {
                gu.data[dst + j] += d * g.data[src + j]
                acc += Double(g.data[src + j]) * Double(uv.data[dst + j])
            }
            gD.data[ci * h + hi] += Float(acc)
        }}}
        return [g, gu, gD]
    }
}
