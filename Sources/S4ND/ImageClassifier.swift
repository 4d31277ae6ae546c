import Foundation
import SSMCore

/// Configuration of an S4ND classifier of images or videos, stored as JSON in a checkpoint's
/// metadata so the file describes itself. The number of grid axes is the length of `train_size`:
/// `[height, width]` for images, `[frames, height, width]` for videos.
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
    /// Training size per axis, `[height, width]` (images) or `[frames, height, width]` (videos);
    /// inputs of other sizes use `rate = train / input` per axis.
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
            // Only the S4D default stands in for "the kernel's own default"; any other name is
            // kept as written, so an unknown one is refused by validation.
            let initName: String? = entry.map { $0.initializations.contains(initialisation) || initialisation != "diag-lin" ? initialisation : $0.initializations[0] } ?? initialisation
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

    /// Number of grid axes: 2 for images, 3 for videos.
    public var axes: Int { trainSize.count }

    /// What is wrong with this configuration, one entry per field (empty when it is usable).
    public var problems: [String] {
        var p: [String] = []
        if !(2...3).contains(trainSize.count) { p.append("train_size must have 2 (image) or 3 (video) entries, got \(trainSize.count)") }
        if let bad = trainSize.first(where: { !(1...4096).contains($0) }) { p.append("train_size entries must be in 1…4096, got \(bad)") }
        if inputChannels != 1 && inputChannels != 3 { p.append("input_channels = \(inputChannels) is out of range (1 or 3)") }
        if classes < 1 || classes > 100_000 { p.append("classes must be in 1…100000, got \(classes)") }
        if !classNames.isEmpty && classNames.count != classes { p.append("class_names has \(classNames.count) names for \(classes) classes") }
        if classNames.contains(where: \.isEmpty) { p.append("class_names has an empty name") }
        if !(1...4096).contains(dModel) { p.append("d_model must be in 1…4096, got \(dModel)") }
        if !(0...256).contains(layers) { p.append("layers must be in 0…256, got \(layers)") }
        if !(2...1024).contains(dState) || dState % 2 != 0 { p.append("d_state must be even and in 2…1024, got \(dState)") }
        if !(dtMin > 0 && dtMin.isFinite) { p.append("dt_min must be > 0, got \(dtMin)") }
        if !(dtMax >= dtMin && dtMax.isFinite) { p.append("dt_max must be ≥ dt_min (\(dtMin)), got \(dtMax)") }
        if let b = bandlimit, !(b > 0 && b.isFinite) { p.append("bandlimit must be > 0 or absent, got \(b)") }
        if !(dropout >= 0 && dropout < 1) { p.append("dropout must be in [0, 1), got \(dropout)") }
        if let b = block { do { _ = try BlockKind(validating: b) } catch { p.append("\(error)") } }
        // Only the conv kernel's taps are sized by kernel_dim (SGConv clamps it to the length).
        if let k = kernelDim, !(1...4096).contains(k) { p.append("kernel_dim must be in 1…4096, got \(k)") }
        // The kernel's own options (init, disc, reparam, bandlimit, …) once the fields themselves are sound.
        if p.isEmpty { do { try KernelRegistry.validate(kernelOptions) } catch { p.append("\(error)") } }
        return p
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

    /// `z` (channels first, any layout) through the layer, same shape; the grid axes are the
    /// tensor axes `spatialAxes` (in the order of the training size), every other axis but the
    /// first is batch.
    func apply(_ z: Variable, spatialAxes: [Int], rates: [Float]) -> Variable {
        if let s4nd { return s4nd.forward(channelsFirst: z, spatialAxes: spatialAxes, rates: rates) }
        var y = z
        func inverse(_ perm: [Int]) -> [Int] {
            var inv = [Int](repeating: 0, count: perm.count)
            for (k, p) in perm.enumerated() { inv[p] = k }
            return inv
        }
        for (i, axis) in spatialAxes.enumerated() {
            let shape = y.shape
            let rest = (1..<shape.count).filter { $0 != axis }
            let rows = rest.reduce(1) { $0 * shape[$1] }
            if let layer = axes[i] as? any ChannelsFirstSequenceLayer, layer.runsChannelsFirst {
                // (H, …, L, …) → (H, rest, L): features stay first, so the last axis needs no copy.
                let perm = [0] + rest + [axis]
                let identity = perm == Array(0..<perm.count)
                let moved = identity ? y : y.permuted(perm)
                let out = layer.forward(channelsFirst: moved.reshaped([shape[0], rows, shape[axis]]), rate: rates[i]).reshaped(moved.shape)
                y = identity ? out : out.permuted(inverse(perm))
                continue
            }
            // (H, …, L, …) → (rest, H, L): every other axis becomes batch for the 1-D block.
            let perm = rest + [0, axis]
            let moved = y.permuted(perm)
            let out = axes[i].forward(moved.reshaped([rows, shape[0], shape[axis]]), rate: rates[i])
            y = out.reshaped(moved.shape).permuted(inverse(perm))
        }
        return y
    }
}

/// The S4ND classifier of images and videos: input `(B, C_in, L₁, …, Lₙ)` of any size → logits
/// `(B, classes)`, where `n` is the number of axes of the training size — 2 for images
/// `(height, width)`, 3 for videos `(frames, height, width)`. One code path for every `n`.
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

    /// Number of grid axes (2 = images, 3 = videos).
    public var axes: Int { config.trainSize.count }

    /// Per-axis rates for an input of grid size `size` (`L₁, …, Lₙ`): `train size / input size`.
    public func rates(for size: [Int]) -> [Float] {
        precondition(size.count == axes, "the model has \(axes) axes, the input \(size.count)")
        return zip(config.trainSize, size).map { Float($0) / Float($1) }
    }

    /// Per-axis rates for an image of `height × width` (2-axis models).
    public func rates(height: Int, width: Int) -> [Float] { rates(for: [height, width]) }

    /// Logits `(B, classes)` for inputs `(B, C_in, L₁, …, Lₙ)`. `dropout` is applied when
    /// `training` and an `rng` is given.
    public func callAsFunction(_ inputs: Tensor, training: Bool = false, rng: UnsafeMutablePointer<SeededRNG>? = nil) -> Variable {
        let n = axes
        precondition(inputs.rank == n + 2 && inputs.shape[1] == config.inputChannels,
                     "ImageClassifier expects (B, \(config.inputChannels)\(String(repeating: ", L", count: n))), got \(inputs.shape)")
        let B = inputs.shape[0], Cin = inputs.shape[1]
        let grid = Array(inputs.shape[2...])
        let H = config.dModel
        // (B, Cin, L₁, …, Lₙ) → (Cin, L₁, …, Lₙ₋₁, B, Lₙ): batch just before the last grid axis, so
        // the products along the first and last axes are one GEMM per channel and every per-pixel
        // op is one GEMM in total.
        let perm = [1] + Array(2...n) + [0, n + 1]
        let layout = [H] + grid.dropLast() + [B, grid[n - 1]]
        let spatialAxes = Array(1..<n) + [n + 1]
        let x = inputs.permuted(perm).reshaped([1, Cin, inputs.count / Cin])
        var h = linearChannels(Variable(x), encoder.weight, encoder.bias).reshaped(layout)
        let rates = rates(for: grid)
        for block in blocks {
            let z = layerNorm(h.reshaped([1, H, -1]), weight: block.norm.weight, bias: block.norm.bias, axis: 1)
            var y = block.apply(z.reshaped(layout), spatialAxes: spatialAxes, rates: rates)
            if training, config.dropout > 0, let rng {
                y = dropout(y, p: config.dropout, training: true, rng: &rng.pointee)
            }
            h = h + y
        }
        if let norm = finalNorm {
            h = layerNorm(h.reshaped([1, H, -1]), weight: norm.weight, bias: norm.bias, axis: 1).reshaped(layout)
        }
        // Mean over every grid position: (H, P, B, Lₙ) with P = L₁ ⋯ Lₙ₋₁.
        let P = grid.dropLast().reduce(1, *)
        let pooled = h.reshaped([H, P, B, grid[n - 1]]).mean(axis: 3).mean(axis: 1).permuted([1, 0])   // (B, H)
        return linear(pooled, decoder.weight, decoder.bias)                                               // (B, classes)
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
