import SSMCore

/// The shape of a ``Sashimi`` backbone and of its S4 layers, as stored in a model file.
/// Keys are snake_case (`d_model`, `n_layers`, …) like the official arguments.
public struct SashimiConfig: Codable, Equatable, Sendable {
    public var dModel = 64
    public var nLayers = 8
    public var pool = [4, 4]
    public var expand = 2
    public var ff = 2
    public var dropout: Float = 0
    /// State size `N` of every S4 layer (the official SaShiMi fixes 64).
    public var dState = 64
    /// Independent `(A, B)` copies per S4 layer (`n_ssm`); `nil` = one per feature.
    public var nSSM: Int? = 1
    public var initialization: S4DKernelConfiguration.Initialization = .diagLin
    public var discretization: Discretization = .zoh
    public var dtMin: Float = 0.001
    public var dtMax: Float = 0.1
    /// Kernel of every S4 block from the registry (`nil` = `s4d` with the options above, as every
    /// model made before the registry).
    public var kernel: String? = nil
    /// The kernel's own initialisation and discretisation when it is not `s4d`.
    public var kernelInit: String? = nil
    public var kernelDisc: String? = nil
    public var reparam: String? = nil
    public var kernelDim: Int? = nil
    /// Training length at the finest tier; kernels with a fixed length (`dplr`, `sgconv`, `conv`)
    /// need it, and every tier's S4 layers get `l_max = lMax / Π pool[0..<tier]`.
    public var lMax: Int? = nil
    /// The residual sequence block (`s4` when absent; `s5`, `mamba`, `gss`).
    public var block: String? = nil
    /// State Memory Replay window around every residual sequence block (`nil` = none).
    public var smr: Int? = nil

    public init() {}

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", nLayers = "n_layers", pool, expand, ff, dropout, dState = "d_state", nSSM = "n_ssm"
        case initialization = "init", discretization = "disc", dtMin = "dt_min", dtMax = "dt_max"
        case kernel, kernelInit = "kernel_init", kernelDisc = "kernel_disc", reparam, kernelDim = "kernel_dim", lMax = "l_max", block, smr
    }

    /// The registry options of every S4 block.
    public var kernelOptions: KernelOptions {
        let name = kernel ?? "s4d"
        if name == "s4d" {
            return KernelOptions(kernel: "s4d", stateSize: dState, initialization: kernelInit ?? initialization.rawValue,
                                 discretization: kernelDisc ?? discretization.rawValue, dtMin: dtMin, dtMax: dtMax,
                                 reparam: reparam, ssmCopies: nSSM)
        }
        return KernelOptions(kernel: name, stateSize: dState, initialization: kernelInit, discretization: kernelDisc,
                             dtMin: dtMin, dtMax: dtMax, reparam: reparam, kernelDim: kernelDim)
    }

    /// Records validated registry options (`d_state`, `dt_*`, `n_ssm` stay as they are).
    public mutating func setKernel(_ o: KernelOptions) {
        reparam = o.reparam
        if o.kernel == "s4d" {
            kernel = nil; kernelInit = nil; kernelDisc = nil; kernelDim = nil
            if let i = o.initialization.flatMap(S4DKernelConfiguration.Initialization.init(rawValue:)) { initialization = i }
            if let d = o.discretization.flatMap(Discretization.init(rawValue:)) { discretization = d }
        } else {
            kernel = o.kernel; kernelInit = o.initialization; kernelDisc = o.discretization; kernelDim = o.kernelDim
        }
    }

    /// `l_max` of the S4 layers `tier` poolings down (`nil` without ``lMax``).
    public func maxLength(tier: Int) -> Int? {
        lMax.map { l in max(1, l / pool.prefix(tier).reduce(1, *)) }
    }

    /// The problems with this configuration, one line each (empty when it can be built).
    public var problems: [String] {
        var p: [String] = []
        if !(1...4096).contains(dModel) { p.append("d_model must be in 1…4096, got \(dModel)") }
        if !(0...64).contains(nLayers) { p.append("n_layers must be in 0…64, got \(nLayers)") }
        if pool.count > 6 || pool.contains(where: { !(1...64).contains($0) }) { p.append("pool must be at most 6 factors in 1…64, got \(pool)") }
        if !(1...8).contains(expand) { p.append("expand must be in 1…8, got \(expand)") }
        if !(0...16).contains(ff) { p.append("ff must be in 0…16, got \(ff)") }
        if !(dropout >= 0 && dropout < 1) { p.append("dropout must be in [0, 1), got \(dropout)") }
        if !(2...1024).contains(dState) || dState % 2 != 0 { p.append("d_state must be even and in 2…1024, got \(dState)") }
        if let s = nSSM, s < 1 { p.append("n_ssm must be positive, got \(s)") }
        if !(dtMin > 0 && dtMax >= dtMin && dtMax.isFinite) { p.append("need 0 < dt_min ≤ dt_max, got \(dtMin), \(dtMax)") }
        // The conv kernel holds l_max (or kernel_dim) taps per feature: bounded so that a damaged
        // file cannot ask for more memory than exists.
        if let l = lMax, !(1...(1 << 20)).contains(l) { p.append("l_max must be in 1…1048576, got \(l)") }
        if let k = kernelDim, !(1...(1 << 20)).contains(k) { p.append("kernel_dim must be in 1…1048576, got \(k)") }
        if let w = smr, !(1...64).contains(w) { p.append("smr must be a window of 1…64 samples, got \(w)") }
        if let b = block, BlockKind(rawValue: b) == nil {
            p.append("block must be one of \(BlockKind.allCases.map(\.rawValue).joined(separator: ", ")), got \(b)")
        }
        // The kernel's own options once the fields themselves are sound (no second report of one field).
        if p.isEmpty { do {
            try KernelRegistry.validate(kernelOptions)
            if lMax == nil, ["dplr", "sgconv", "conv"].contains(kernelOptions.kernel) {
                p.append("kernel \(kernelOptions.kernel) needs l_max (the training length)")
            }
        } catch { p.append("kernel options: \(error)") } }
        if p.isEmpty {
            var h = dModel
            for _ in pool { h *= expand }
            if h > 65536 { p.append("the coarsest tier would have \(h) features") }
            if let s = nSSM {
                var w = dModel
                for _ in 0...pool.count { if w % s != 0 { p.append("n_ssm \(s) must divide every tier's width (\(w))"); break }; w *= expand }
            }
        }
        return p
    }

    /// The S4 kernel of a block of width `features`.
    public func kernel(features: Int) -> S4DKernelConfiguration {
        S4DKernelConfiguration(features: features, stateSize: dState, ssmCopies: nSSM, initialization: initialization,
                               discretization: discretization, dtMin: dtMin, dtMax: dtMax,
                               reparam: reparam.flatMap(RealReparameterization.init(rawValue:)) ?? .exp)
    }
}

extension Sashimi {
    /// A freshly initialised backbone of `config` (S4 blocks: the registry kernel of
    /// ``SashimiConfig/kernelOptions``, GELU, GLU output linear). The configuration must have no
    /// ``SashimiConfig/problems``.
    public convenience init(_ config: SashimiConfig, rng: inout SeededRNG) {
        precondition(config.problems.isEmpty, "invalid SaShiMi configuration: \(config.problems.joined(separator: "; "))")
        let options = config.kernelOptions
        let kind = config.block.flatMap(BlockKind.init(rawValue:)) ?? .s4
        self.init(dModel: config.dModel, nLayers: config.nLayers, pool: config.pool, expand: config.expand, ff: config.ff,
                  dropout: config.dropout, rng: &rng) { h, tier, rng in
            let layer = Sashimi.block(config, options: options, kind: kind, features: h, tier: tier, rng: &rng)
            guard let w = config.smr else { return layer }
            return StateMemoryReplay(layer, window: w, rng: &rng)
        }
    }

    /// One residual sequence block of `config` (before any SMR wrapper).
    static func block(_ config: SashimiConfig, options: KernelOptions, kind: BlockKind, features h: Int, tier: Int,
                      rng: inout SeededRNG) -> any SequenceLayer {
        if kind == .s4 && options.kernel == "s4d" { return S4Block(kernel: config.kernel(features: h), rng: &rng) }
        // Validated by `problems`; the factory throws only for options it has already accepted.
        return try! kind.make(features: h, kernel: options, maxLength: config.maxLength(tier: tier), bidirectional: false, rng: &rng)
    }

    /// The official module name of the backbone.
    public static let officialModule = "models.sashimi.sashimi.Sashimi"

    /// A backbone from the official constructor arguments (`d_model`, `n_layers`, `pool`, `expand`,
    /// `ff`, `bidirectional`, `unet`, `dropout`, and the S4 layer's own arguments, passed to every
    /// S4 block with `d_state=64`, as the official constructor does) and an official state dict.
    public static func official(arguments a: ModuleArguments, stateDict: [String: Tensor], seed: UInt64 = 0) throws -> Sashimi {
        let dModel = try a.int("d_model", default: 64), nLayers = try a.int("n_layers", default: 8)
        let pool = try a.ints("pool") ?? [4, 4]
        let expand = try a.int("expand", default: 2), ff = try a.int("ff", default: 2)
        let bidirectional = try a.bool("bidirectional", default: false)
        let dropout = try a.double("dropout", default: 0)
        try a.expect("unet", in: ["false"], reason: "only the autoregressive (unet=false) backbone is implemented")
        guard dModel > 0, nLayers >= 0, expand > 0, ff >= 0, pool.allSatisfy({ $0 > 0 }) else {
            throw OfficialModuleError.invalidArguments("d_model, n_layers, expand, ff and pool must be positive")
        }
        let known: Set = ["d_model", "n_layers", "pool", "expand", "ff", "bidirectional", "unet", "dropout"]
        var s4Args = a.values.filter { !known.contains($0.key) }
        a.accept(Array(s4Args.keys))
        try a.finish()
        s4Args["d_state"] = .number(64)
        s4Args["bidirectional"] = .bool(bidirectional)
        s4Args["dropout"] = .number(dropout)
        s4Args["transposed"] = .bool(true)
        var rng = SeededRNG(seed: seed)
        let model = try Sashimi(dModel: dModel, nLayers: nLayers, pool: pool, expand: expand, ff: ff, dropout: Float(dropout),
                                rng: &rng) { h, _, rng in
            var args = s4Args
            args["d_model"] = .number(Double(h))
            return try OfficialLoader.s4Block(arguments: ModuleArguments(args), rng: &rng)
        }
        do { try model.load(stateDict: stateDict) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return model
    }
}
