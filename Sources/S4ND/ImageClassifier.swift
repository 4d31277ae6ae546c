import Foundation
import SSMCore

/// Configuration of an S4ND image classifier, stored as JSON in a checkpoint's metadata so the file
/// describes itself.
///
/// `isotropic` (the reference W1 model): a per-pixel linear encoder `C_in → H`, `layers` residual
/// blocks `x + Dropout(S4ND(LayerNorm(x)))`, a final LayerNorm, the mean over all pixels, and a linear
/// head `H → classes`. Every part is resolution-agnostic: the encoder, norms and head act per pixel or
/// on the mean, and the S4ND kernels are resampled for the input size through `rate`.
public struct ImageClassifierConfig: Codable, Equatable, Sendable {
    public var inputChannels: Int = 1
    public var classes: Int = 10
    public var classNames: [String] = []
    /// `H`.
    public var dModel: Int = 64
    public var layers: Int = 4
    public var dState: Int = 64
    /// Training resolution `(height, width)`; inputs of other sizes use `rate = train / input` per axis.
    public var trainSize: [Int] = [28, 28]
    /// Initial SSM steps are log-uniform in [dtMin, dtMax] (at the training resolution).
    public var dtMin: Float = 0.01
    public var dtMax: Float = 0.1
    /// Modes at or above `bandlimit / 2` cycles per pixel are zeroed; 0.5 keeps every kernel free of
    /// aliasing down to half the training resolution.
    public var bandlimit: Float? = 0.5
    public var dropout: Float = 0.1
    public var bidirectional: Bool = true
    public var initialisation: String = "diag-lin"
    /// Whether a LayerNorm precedes pooling.
    public var finalNorm: Bool = false
    /// Kernel family from the registry (`nil` = `s4d`, for checkpoints made before the registry).
    public var kernel: String? = nil
    /// Kernel options beyond the shared ones above (`nil` = the kernel's default).
    public var disc: String? = nil
    public var reparam: String? = nil
    public var kernelDim: Int? = nil
    /// The layer of every residual block: `s4` (absent) = the S4ND layer; `s5`, `mamba`, `gss` =
    /// that 1-D block applied along each axis in turn (columns, then rows), bidirectional.
    public var block: String? = nil

    public init() {}

    enum CodingKeys: String, CodingKey {
        case inputChannels = "input_channels", classes, classNames = "class_names", dModel = "d_model", layers
        case dState = "d_state", trainSize = "train_size", dtMin = "dt_min", dtMax = "dt_max", bandlimit, dropout
        case bidirectional, initialisation = "init", finalNorm = "final_norm"
        case kernel, disc, reparam, kernelDim = "kernel_dim", block
    }

    /// The kernel of every S4ND axis. `init` is the kernel's own default when the configuration's
    /// is the S4D default and the kernel is another one.
    public var kernelOptions: KernelOptions {
        get {
            let name = kernel ?? "s4d"
            let entry = try? KernelRegistry.entry(name)
            let initName: String? = entry.map { $0.initializations.contains(initialisation) ? initialisation : $0.initializations[0] } ?? initialisation
            return KernelOptions(kernel: name, stateSize: dState, initialization: initName, discretization: disc,
                                 dtMin: dtMin, dtMax: dtMax, bandlimit: bandlimit, reparam: reparam,
                                 kernelDim: kernelDim)
        }
        set {
            kernel = newValue.kernel == "s4d" && kernel == nil ? nil : newValue.kernel
            dState = newValue.stateSize
            initialisation = (try? newValue.resolvedInitialization()) ?? initialisation
            disc = newValue.discretization; dtMin = newValue.dtMin; dtMax = newValue.dtMax
            bandlimit = newValue.bandlimit; reparam = newValue.reparam
            kernelDim = newValue.kernelDim
        }
    }

    /// The S4ND configuration of each block.
    public var layerConfig: S4NDConfig {
        var c = S4NDConfig(dModel: dModel, dState: dState, lMax: trainSize, bidirectional: bidirectional,
                           initialisation: initialisation, dtMin: dtMin, dtMax: dtMax, bandlimit: bandlimit)
        c.kernel = kernelOptions
        return c
    }
}

/// One residual block: `x + Dropout(layer(LayerNorm(x)))` (pre-norm, as the official backbone),
/// where the layer is S4ND, or a 1-D block per axis (``ImageClassifierConfig/block``).
public final class S4NDBlock: Layer {
    public let norm: LayerNorm
    /// The S4ND layer (block `s4`), else `nil`.
    public let s4nd: S4ND?
    /// One bidirectional 1-D block per axis (blocks `s5`, `mamba`, `gss`), else empty.
    public let axes: [any SequenceLayer]

    public init(_ config: S4NDConfig, block: BlockKind = .s4, rng: inout SeededRNG) throws {
        norm = LayerNorm(config.dModel, axis: 1)
        if block == .s4 {
            s4nd = try S4ND(config, rng: &rng); axes = []
        } else {
            s4nd = nil
            axes = try config.lMax.map { l in
                try block.make(features: config.dModel, kernel: config.kernelOptions, maxLength: l, bidirectional: true, rng: &rng)
            }
        }
    }

    public var namedParameters: [(String, Variable)] {
        var out = norm.namedParameters.map { ("norm.\($0.0)", $0.1) }
        if let s4nd { out += s4nd.namedParameters.map { ("layer.\($0.0)", $0.1) } }
        for (i, a) in axes.enumerated() { out += a.namedParameters.map { ("axes.\(i).\($0.0)", $0.1) } }
        return out
    }

    /// `z` `(H, Hh, B, W)` through the layer, same shape.
    func apply(_ z: Variable, rates: [Float]) -> Variable {
        if let s4nd { return s4nd.forward(channelsFirst: z, spatialAxes: [1, 3], rates: rates) }
        let (H, Hh, B, W) = (z.shape[0], z.shape[1], z.shape[2], z.shape[3])
        // Columns: (H, Hh, B, W) → (B·W, H, Hh); the permutation is its own inverse.
        let cols = axes[0].forward(z.permuted([2, 3, 0, 1]).reshaped([B * W, H, Hh]), rate: rates[0])
        let y0 = cols.reshaped([B, W, H, Hh]).permuted([2, 3, 0, 1])
        // Rows: (H, Hh, B, W) → (B·Hh, H, W).
        let rows = axes[1].forward(y0.permuted([2, 1, 0, 3]).reshaped([B * Hh, H, W]), rate: rates[1])
        return rows.reshaped([B, Hh, H, W]).permuted([2, 1, 0, 3])
    }
}

/// The S4ND image classifier. Input `(B, C_in, height, width)` of any size → logits `(B, classes)`.
public final class ImageClassifier: Layer {
    public let config: ImageClassifierConfig
    public let encoder: Linear
    public let blocks: [S4NDBlock]
    public let finalNorm: LayerNorm?
    public let decoder: Linear

    /// A freshly initialised classifier; throws when the kernel options are invalid.
    public init(_ config: ImageClassifierConfig, rng: inout SeededRNG) throws {
        _ = Allocator.configure
        _ = BLAS.configure
        self.config = config
        encoder = Linear(config.inputChannels, config.dModel, rng: &rng)
        let kind = try config.block.map(BlockKind.init(validating:)) ?? .s4
        blocks = try (0..<config.layers).map { _ in try S4NDBlock(config.layerConfig, block: kind, rng: &rng) }
        finalNorm = config.finalNorm ? LayerNorm(config.dModel, axis: 1) : nil
        decoder = Linear(config.dModel, config.classes, rng: &rng)
    }

    public var namedParameters: [(String, Variable)] {
        var out = encoder.namedParameters.map { ("encoder.\($0.0)", $0.1) }
        for (i, b) in blocks.enumerated() { out += b.namedParameters.map { ("layers.\(i).\($0.0)", $0.1) } }
        if let n = finalNorm { out += n.namedParameters.map { ("norm.\($0.0)", $0.1) } }
        out += decoder.namedParameters.map { ("decoder.\($0.0)", $0.1) }
        return out
    }

    /// Per-axis rates for an input of `height × width`: `train size / input size`.
    public func rates(height: Int, width: Int) -> [Float] {
        [Float(config.trainSize[0]) / Float(height), Float(config.trainSize[1]) / Float(width)]
    }

    /// Logits `(B, classes)` for images `(B, C_in, height, width)`. `dropout` is applied when
    /// `training` and an `rng` is given.
    public func callAsFunction(_ images: Tensor, training: Bool = false, rng: UnsafeMutablePointer<SeededRNG>? = nil) -> Variable {
        precondition(images.rank == 4 && images.shape[1] == config.inputChannels,
                     "ImageClassifier expects (B, \(config.inputChannels), H, W), got \(images.shape)")
        let (B, Cin, Hh, W) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let H = config.dModel
        // (B, Cin, Hh, W) → (Cin, Hh, B, W): batch between the grid axes, so both Toeplitz
        // products are one GEMM per channel and every per-pixel op is one GEMM in total.
        let x = images.permuted([1, 2, 0, 3]).reshaped([1, Cin, Hh * B * W])
        var h = linearChannels(Variable(x), encoder.weight, encoder.bias).reshaped([H, Hh, B, W])  // (H, Hh, B, W)
        let rates = rates(height: Hh, width: W)
        for block in blocks {
            let z = layerNorm(h.reshaped([1, H, -1]), weight: block.norm.weight, bias: block.norm.bias, axis: 1)
            var y = block.apply(z.reshaped([H, Hh, B, W]), rates: rates)
            if training, config.dropout > 0, let rng {
                y = dropout(y, p: config.dropout, training: true, rng: &rng.pointee)
            }
            h = h + y
        }
        if let n = finalNorm {
            h = layerNorm(h.reshaped([1, H, -1]), weight: n.weight, bias: n.bias, axis: 1).reshaped([H, Hh, B, W])
        }
        let pooled = h.mean(axis: 3).mean(axis: 1).permuted([1, 0])                     // (B, H)
        return linear(pooled, decoder.weight, decoder.bias)                               // (B, classes)
    }
}

extension ImageClassifier: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] {
        blocks.enumerated().flatMap { i, b in
            (b.s4nd?.namedKernels.map { ("layers.\(i).layer.\($0.0)", $0.1) } ?? [])
                + b.axes.enumerated().flatMap { k, a in kernels(of: a, prefix: "layers.\(i).axes.\(k)") }
        }
    }
}
