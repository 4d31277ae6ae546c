/// Builds S4 modules from the official constructor arguments (`models/s4/s4.py`: `S4Block`,
/// `FFTConv` with `mode: diag`) and loads an official-format state dict into them, strictly:
/// every parameter present with its exact shape, no unused weights.
///
/// Supported: the diagonal kernel (`mode`/`kernel` = `diag` or `s4d`) with its default transforms
/// (`real_transform: exp`, `imag_transform: none`, `dt_transform: exp`), `disc` `zoh`/`bilinear`,
/// `bandlimit`, `channels`, `n_ssm`, `dt_tie`, `l_max`, `bidirectional`, `activation`, `final_act`,
/// `transposed`. Options that only shape an initialisation the weights replace (`init`, `B_init`,
/// `deterministic`, …) or that are inactive at inference (`dropout`, `lr`, `wd`, …) are accepted.
/// Anything else is rejected with an ``OfficialModuleError`` naming the argument.
public enum OfficialLoader {
    /// Module names (`__metadata__["module"]`) this loader builds.
    public static let s4BlockModule = "models.s4.s4.S4Block"
    public static let fftConvModule = "models.s4.s4.FFTConv"
    /// The same block in the repository's `src` tree (the registry's other kernels, e.g. `mode='ema'`).
    public static let srcS4BlockModule = "src.models.sequence.modules.s4block.S4Block"

    /// An `S4Block` from its arguments and weights (`layer.kernel.*`, `layer.D`, `output_linear.0.*`).
    public static func s4Block(arguments: ModuleArguments, stateDict: [String: Tensor], seed: UInt64 = 0) throws -> S4Block {
        var rng = SeededRNG(seed: seed)
        let block = try s4Block(arguments: arguments, rng: &rng)
        do { try block.load(stateDict: stateDict) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return block
    }

    /// A freshly initialised `S4Block` from its arguments (every argument checked, none left unused).
    public static func s4Block(arguments: ModuleArguments, rng: inout SeededRNG) throws -> S4Block {
        try arguments.expect("bottleneck", in: ["null"], reason: "bottleneck layers are not implemented")
        try arguments.expect("gate", in: ["null"], reason: "gated blocks are not implemented")
        try arguments.expect("gate_act", in: ["null"], reason: "gated blocks are not implemented")
        try arguments.expect("mult_act", in: ["null", "id", "identity", "linear"], reason: "only the identity is implemented")
        try arguments.expect("postact", in: ["null"], reason: "use final_act")
        try arguments.expect("weight_norm", in: ["false"], reason: "weight normalisation is not implemented")
        arguments.accept(["initializer", "dropout", "tie_dropout"])
        let final: SequenceActivation?
        // Absent → the default "glu"; explicitly null → no output linear.
        switch try arguments.isPresent("final_act") ? arguments.string("final_act") : "glu" {
        case nil: final = nil
        case let name?: final = try activation(name, key: "final_act")
        }
        let (conv, transposed) = try fftConvParts(arguments: arguments, rng: &rng)
        try arguments.finish()
        let block = S4Block(layer: conv, finalActivation: final, rng: &rng)
        block.transposed = transposed
        return block
    }

    /// A gated (GSS) block from the `src` S4Block arguments with `gate` (the layer is the FFTConv of
    /// the same arguments, with the block's `activation` after it) and its weights.
    public static func gatedBlock(arguments a: ModuleArguments, stateDict: [String: Tensor], seed: UInt64 = 0) throws -> GatedBlock {
        var rng = SeededRNG(seed: seed)
        guard let gate = try a.int("gate"), gate >= 1 else { throw OfficialModuleError.missingArgument("gate") }
        try a.expect("bottleneck", in: ["null"], reason: "bottleneck layers are not implemented")
        try a.expect("postact", in: ["null"], reason: "use final_act")
        try a.expect("weight_norm", in: ["false"], reason: "weight normalisation is not implemented")
        a.accept(["initializer", "dropout", "tie_dropout"])
        let gateAct = try activation(a.string("gate_act", default: "id"), key: "gate_act")
        let multAct = try activation(a.string("mult_act", default: "id"), key: "mult_act")
        let finalAct = try activation(a.string("final_act", default: "glu"), key: "final_act")
        for (act, key) in [(gateAct, "gate_act"), (multAct, "mult_act"), (finalAct, "final_act")] where act == .glu {
            throw OfficialModuleError.unsupportedArgument(key: key, value: "glu", reason: "GLU is not implemented in a gated block")
        }
        let (conv, transposed) = try fftConvParts(arguments: a, rng: &rng)
        guard transposed else { throw OfficialModuleError.unsupportedArgument(key: "transposed", value: "false", reason: "(B, H, L) only") }
        try a.finish()
        let block = GatedBlock(layer: conv, gate: gate, gateActivation: gateAct, multActivation: multAct, finalActivation: finalAct, rng: &rng)
        do { try block.load(stateDict: stateDict) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return block
    }

    /// An `FFTConv` from its arguments and weights (`kernel.*`, `D`).
    public static func fftConv(arguments: ModuleArguments, stateDict: [String: Tensor], seed: UInt64 = 0) throws -> FFTConv {
        var rng = SeededRNG(seed: seed)
        let (conv, transposed) = try fftConvParts(arguments: arguments, rng: &rng)
        if !transposed {
            throw OfficialModuleError.unsupportedArgument(key: "transposed", value: "false", reason: "FFTConv runs on (B, H, L)")
        }
        try arguments.finish()
        do { try conv.load(stateDict: stateDict) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return conv
    }

    static func activation(_ name: String, key: String) throws -> SequenceActivation {
        switch name {
        case "id", "identity", "linear": return .identity
        case "gelu": return .gelu
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        case "glu": return .glu
        default: throw OfficialModuleError.unsupportedArgument(key: key, value: name, reason: "activation not implemented")
        }
    }

    /// The FFTConv (and the `transposed` flag) described by the arguments shared by S4Block and FFTConv.
    static func fftConvParts(arguments a: ModuleArguments, rng: inout SeededRNG) throws -> (FFTConv, Bool) {
        let h = try a.requiredInt("d_model")
        guard h > 0 else { throw OfficialModuleError.unsupportedArgument(key: "d_model", value: "\(h)", reason: "must be positive") }
        let transposed = try a.bool("transposed", default: true)
        let channels = try a.int("channels", default: 1)
        guard channels > 0 else { throw OfficialModuleError.unsupportedArgument(key: "channels", value: "\(channels)", reason: "must be positive") }
        let bidirectional = try a.bool("bidirectional", default: false)
        // Absent → the default "gelu"; explicitly null → identity.
        let act = try a.isPresent("activation") ? (a.string("activation") ?? "id") : "gelu"
        let activation = try self.activation(act, key: "activation")
        if activation == .glu {
            throw OfficialModuleError.unsupportedArgument(key: "activation", value: "glu", reason: "GLU inside FFTConv is not implemented")
        }
        let lMax = try a.ints("l_max")
        if let lMax, lMax.count != 1 || lMax[0] <= 0 {
            throw OfficialModuleError.unsupportedArgument(key: "l_max", value: "\(lMax)", reason: "must be one positive length")
        }
        try a.expect("swap_channels", in: ["false"], reason: "swapped channel order is not implemented")
        a.accept(["drop_kernel", "dropout", "tie_dropout"])
        // Kernel family (the official `kernel_registry` names).
        let mode = try a.string("mode") ?? a.string("kernel") ?? "dplr"
        let kernelChannels = channels * (bidirectional ? 2 : 1)
        let kernel: any SequenceKernel
        switch mode {
        case "diag", "s4d":
            kernel = try diagonalKernel(arguments: a, features: h, channels: kernelChannels, rng: &rng)
        case "dplr", "nplr", "s4":
            guard let l = lMax?[0] else { throw OfficialModuleError.missingArgument("l_max") }
            kernel = try dplrKernel(arguments: a, features: h, channels: kernelChannels, length: l, rng: &rng)
        case "ema":
            kernel = try emaKernel(arguments: a, features: h, channels: kernelChannels, rng: &rng)
        case "conv":
            guard let l = lMax?[0] else { throw OfficialModuleError.missingArgument("l_max") }
            a.accept(["lr", "wd", "verbose"])
            kernel = ConvKernel(features: h, channels: kernelChannels, length: l, rng: &rng)
        default:
            throw OfficialModuleError.unsupportedArgument(key: "mode", value: mode,
                reason: "implemented kernels: diag (s4d), dplr, ema, conv")
        }
        let conv = FFTConv(kernel: kernel, channels: channels, bidirectional: bidirectional, activation: activation,
                           maxKernelLength: lMax?[0], rng: &rng)
        return (conv, transposed)
    }

    /// The DPLR kernel described by the official `SSMKernelDPLR` arguments (default transforms, rank
    /// from the measure, bilinear).
    static func dplrKernel(arguments a: ModuleArguments, features h: Int, channels: Int, length: Int, rng: inout SeededRNG) throws -> DPLRKernel {
        let n = try a.int("d_state", default: 64)
        guard n >= 2 && n % 2 == 0 else {
            throw OfficialModuleError.unsupportedArgument(key: "d_state", value: "\(n)", reason: "must be even and at least 2")
        }
        let initName = try a.string("init") ?? a.string("measure") ?? "legs"
        guard let measure = HiPPO.Measure(rawValue: initName == "fourier" ? "fout" : initName) else {
            throw OfficialModuleError.unsupportedArgument(key: "init", value: initName, reason: "implemented: legs, legt, fout")
        }
        if let rank = try a.int("rank"), rank != HiPPO.rank(measure) {
            throw OfficialModuleError.unsupportedArgument(key: "rank", value: "\(rank)", reason: "\(initName) has rank \(HiPPO.rank(measure))")
        }
        try a.expect("n_ssm", in: ["null", "\(h)"], reason: "DPLR keeps one (A, P, B) per feature")
        try a.expect("disc", in: ["bilinear"], reason: "DPLR is bilinear")
        try a.expect("real_transform", in: ["exp"], reason: "only the exp transform of A_real is implemented")
        try a.expect("imag_transform", in: ["none"], reason: "only the identity transform of A_imag is implemented")
        try a.expect("dt_transform", in: ["exp"], reason: "only the exp transform of dt is implemented")
        try a.expect("dt_fast", in: ["false"], reason: "the sinh dt parameterisation is not implemented")
        try a.expect("dt_tie", in: ["true"], reason: "DPLR keeps one dt per feature")
        let dtMin = try a.double("dt_min", default: 0.001), dtMax = try a.double("dt_max", default: 0.1)
        guard dtMin > 0 && dtMax >= dtMin else {
            throw OfficialModuleError.unsupportedArgument(key: "dt_min", value: "\(dtMin)", reason: "need 0 < dt_min ≤ dt_max")
        }
        let bandlimit = try a.double("bandlimit")
        a.accept(["deterministic", "real_random", "real_scale", "imag_random", "imag_scale", "B_random", "B_init",
                  "B_scale", "P_scale", "normalize", "lr", "wd", "verbose", "backend"])
        return DPLRKernel(features: h, channels: channels, stateSize: n, measure: measure, length: length,
                          dtMin: Float(dtMin), dtMax: Float(dtMax), bandlimit: bandlimit.map { Float($0) }, rng: &rng)
    }

    /// The EMA kernel described by the official `EMAKernel` arguments.
    static func emaKernel(arguments a: ModuleArguments, features h: Int, channels: Int, rng: inout SeededRNG) throws -> EMAKernel {
        let n = try a.int("d_state", default: 2)
        guard n >= 1 else { throw OfficialModuleError.unsupportedArgument(key: "d_state", value: "\(n)", reason: "must be positive") }
        let tie = try a.bool("dt_tie", default: false)
        try a.expect("efficient_bidirectional", in: ["false"], reason: "tied bidirectional EMA parameters are not implemented")
        a.accept(["lr", "wd", "verbose"])
        return EMAKernel(features: h, channels: channels, stateSize: n, dtTie: tie, rng: &rng)
    }

    /// The S4D kernel described by the official `SSMKernelDiag` arguments.
    static func diagonalKernel(arguments a: ModuleArguments, features h: Int, channels: Int, rng: inout SeededRNG) throws -> S4DKernel {
        let n = try a.int("d_state", default: 64)
        guard n >= 2 && n % 2 == 0 else {
            throw OfficialModuleError.unsupportedArgument(key: "d_state", value: "\(n)", reason: "must be even and at least 2")
        }
        let nSSM = try a.int("n_ssm")
        if let s = nSSM, s <= 0 || h % s != 0 {
            throw OfficialModuleError.unsupportedArgument(key: "n_ssm", value: "\(s)", reason: "must divide d_model \(h)")
        }
        let discName = try a.string("disc", default: "zoh")
        guard let disc = Discretization(rawValue: discName) else {
            throw OfficialModuleError.unsupportedArgument(key: "disc", value: discName, reason: "implemented: zoh, bilinear, dss")
        }
        let dtMin = try a.double("dt_min", default: 0.001), dtMax = try a.double("dt_max", default: 0.1)
        guard dtMin > 0 && dtMax >= dtMin else {
            throw OfficialModuleError.unsupportedArgument(key: "dt_min", value: "\(dtMin)", reason: "need 0 < dt_min ≤ dt_max")
        }
        let dtTie = try a.bool("dt_tie", default: true)
        let bandlimit = try a.double("bandlimit")
        try a.expect("real_transform", in: ["exp"], reason: "only the exp transform of A_real is implemented")
        try a.expect("imag_transform", in: ["none"], reason: "only the identity transform of A_imag is implemented")
        try a.expect("dt_transform", in: ["exp"], reason: "only the exp transform of dt is implemented")
        try a.expect("dt_fast", in: ["false"], reason: "the sinh dt parameterisation is not implemented")
        try a.expect("is_real", in: ["false"], reason: "real-valued diagonal SSMs are not implemented")
        // Initialisation-only options (the loaded weights replace the initial values) and
        // optimiser or backend hints.
        let initName = try a.string("init") ?? a.string("measure") ?? "diag-lin"
        var initialization = S4DKernelConfiguration.Initialization(rawValue: initName) ?? .diagLin
        if initialization == .diag && (nSSM ?? h) % 2 != 0 { initialization = .diagLin }
        a.accept(["deterministic", "rank", "real_random", "real_scale", "imag_random", "imag_scale", "B_random",
                  "B_init", "B_scale", "P_scale", "normalize", "lr", "wd", "verbose", "backend"])
        let config = S4DKernelConfiguration(features: h, stateSize: n, channels: channels, ssmCopies: nSSM,
                                            initialization: initialization, discretization: disc,
                                            dtMin: Float(dtMin), dtMax: Float(dtMax), dtTie: dtTie,
                                            bandlimit: bandlimit.map { Float($0) })
        return S4DKernel(config, rng: &rng)
    }
}
