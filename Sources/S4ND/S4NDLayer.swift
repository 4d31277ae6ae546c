import SSMCore

/// The S4ND layer (Nguyen et al., 2022): an N-D state-space convolution whose kernel is the
/// outer product of one continuous 1-D SSM kernel per axis, followed by GELU and a GLU output
/// projection, with a `D` skip — the official `S4ND` module with `linear=False`.
///
/// For an input `u` with `H` channels over an `L₁ × … × Lₙ` grid:
///
///     kᵢ  = SSM kernel of axis i, length Lkᵢ = min(Lᵢ, round(l_maxᵢ / rateᵢ)), step dt·rateᵢ   (C, H, Lkᵢ)
///     y   = u ∗ (k₁ ⊗ … ⊗ kₙ) + D ⊙ u           (linear convolution on every axis; C = 2 directions)
///     out = GLU(W · GELU(y) + b)                  W: (2H, H)
///
/// `rateᵢ` is `train sizeᵢ / input sizeᵢ`: the continuous kernels are sampled at the input's
/// resolution, which is what makes the layer resolution-agnostic.
///
/// The convolution runs as per-axis Toeplitz products (``modeProduct(_:_:axis:)``) — the same
/// linear map as the official padded N-D FFT — or, for long axes, as that FFT convolution.
///
/// Parameter names are the official `state_dict` keys: `kernel.<axis>.{inv_dt, A_real, A_imag, B, C}`,
/// `D` `(1, H)`, `output_linear.0.{weight, bias}`.
public final class S4ND: Layer {
    public let config: S4NDConfig
    /// One kernel generator per axis (`C = 2` when bidirectional).
    public let kernels: [any SequenceKernel]
    /// Skip connection, `(1, H)`.
    public let D: Variable
    /// `H → 2H`, followed by GLU.
    public let outputLinear: Linear

    /// Above this length (per axis) the FFT convolution is used instead of Toeplitz products.
    public var toeplitzMaxLength = 160

    /// A freshly initialised layer with one kernel of ``S4NDConfig/kernelOptions`` per axis (from
    /// the registry); throws when the options are invalid.
    public init(_ config: S4NDConfig, rng: inout SeededRNG) throws {
        precondition(config.activation == "gelu" && config.finalAct == "glu", "S4ND supports activation gelu and final_act glu")
        self.config = config
        let options = config.kernelOptions
        kernels = try config.lMax.map { l in
            try KernelRegistry.build(options, shape: KernelShape(features: config.dModel, channels: config.bidirectional ? 2 : 1,
                                                                 maxLength: l), rng: &rng)
        }
        D = Variable(Tensor(shape: [1, config.dModel], data: (0..<config.dModel).map { _ in rng.normal() }), requiresGrad: true)
        D.role = .noDecay
        outputLinear = Linear(config.dModel, 2 * config.dModel, rng: &rng)
    }

    public var namedParameters: [(String, Variable)] {
        var out: [(String, Variable)] = [("D", D)]
        for (i, k) in kernels.enumerated() { out += k.namedParameters.map { ("kernel.\(i).\($0.0)", $0.1) } }
        out += outputLinear.namedParameters.map { ("output_linear.0.\($0.0)", $0.1) }
        return out
    }

    /// Kernel length used on an axis of `length` samples at `rate` (the official rule).
    public func kernelLength(axis: Int, length: Int, rate: Float) -> Int {
        let scaled = Int((Float(config.lMax[axis]) / rate).rounded(.toNearestOrEven))
        return max(1, min(length, scaled))
    }

    /// The official layout: `u` `(B, H, L₁, …, Lₙ)` → `(B, H, L₁, …, Lₙ)`, one `rate` for all axes.
    public func callAsFunction(_ u: Variable, rate: Float = 1) -> Variable {
        let n = config.dim
        precondition(u.shape.count == n + 2 && u.shape[1] == config.dModel,
                     "S4ND expects (B, \(config.dModel), L1…L\(n)), got \(u.shape)")
        var perm = [1, 0]; perm += (2..<(n + 2)).map { $0 }   // (H, B, L…)
        let y = forward(channelsFirst: u.permuted(perm), spatialAxes: Array(2..<(n + 2)),
                        rates: [Float](repeating: rate, count: n))
        return y.permuted(perm)
    }

    /// Channel-first core: `u` `(H, …)` with the grid axes at `spatialAxes` (tensor axis indices, in
    /// the order of `l_max`) and any other axes (batch) anywhere else; same shape out.
    /// Layouts that keep the batch axis between grid axes (e.g. `(H, L₁, B, L₂)`) make every
    /// product one GEMM per channel.
    public func forward(channelsFirst u: Variable, spatialAxes: [Int], rates: [Float]) -> Variable {
        let H = config.dModel
        precondition(u.shape[0] == H && spatialAxes.count == config.dim && rates.count == config.dim,
                     "S4ND.forward: shape \(u.shape), axes \(spatialAxes), rates \(rates)")
        var y = u
        for (i, axis) in spatialAxes.enumerated() {
            let L = u.shape[axis]
            let lk = kernelLength(axis: i, length: L, rate: rates[i])
            let k = kernels[i].kernel(length: lk, rate: rates[i])                          // (C, H, Lk)
            let padded = layoutKernel(k, inputLength: L, bidirectional: config.bidirectional) // (1, H, Lk + L)
                .reshaped([H, lk + L])
            if L <= toeplitzMaxLength {
                y = modeProduct(y, toeplitz(padded, length: L), axis: axis)                 // (H, …)
            } else {
                y = fftAlongAxis(y, padded, axis: axis)
            }
        }
        y = skipGELU(y, u, D)                                                               // gelu(y + D·u)
        let flat = y.reshaped([1, H, -1])                                                   // (1, H, N)
        if !Autograd.isRecording {
            // Inference: the doubled (1, 2H, N) pre-activations never exist whole.
            let z = linearGLUChannelsInference(flat.value, outputLinear.weight.value, outputLinear.bias?.value)
            return Variable(z.reshaped(u.shape))
        }
        let z = gluChannels(linearChannels(flat, outputLinear.weight, outputLinear.bias))   // (1, H, N)
        return z.reshaped(u.shape)
    }

    /// One axis of the convolution through ``fftConvolution(_:kernels:)``: move the axis last,
    /// fold everything else into the batch, convolve, and move it back.
    func fftAlongAxis(_ y: Variable, _ padded: Variable, axis: Int) -> Variable {
        let shape = y.shape, H = shape[0], L = shape[axis]
        var perm = Array(0..<shape.count); perm.remove(at: axis); perm.append(axis)   // (H, …, L)
        let moved = y.permuted(perm)
        let rows = moved.shape.dropFirst().dropLast().reduce(1, *)
        let batched = moved.reshaped([H, rows, L]).permuted([1, 0, 2])                 // (rows, H, L)
        let conv = fftConvolution(batched, kernels: [padded])                          // (rows, H, L)
        let back = conv.permuted([1, 0, 2]).reshaped(moved.shape)
        var inverse = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return back.permuted(inverse)
    }
}

extension S4ND: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] { kernels.enumerated().map { ("kernel.\($0.offset)", $0.element) } }
}
