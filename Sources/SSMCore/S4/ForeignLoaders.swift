import Foundation

/// Blocks from the S4 family's other code bases, each with one sanitize step that maps its
/// state-dict keys and layouts onto this package's (`layer.kernel.*`, `layer.D`,
/// `output_linear.0.*`), and a builder from its constructor arguments. Every block is an
/// ``S4Block`` around an ``FFTConv`` with the registry's kernel; the sources' shared tail is an
/// exact GELU after the convolution and a Linear(C·H → 2H) + GLU.
public enum ForeignLoaders {
    /// `ag1988/dlr`'s standalone DSS layer (kernel types `dss` and `dlr`).
    public static let dssModule = "src.models.sequence.ss.standalone.dss.DSS"
    /// `ctlllll/SGConv`'s `GConv`.
    public static let sgconvModule = "gconv_standalone.GConv"
    /// `raminmh/liquid-s4`'s `S4` layer (diagonal kernel with Liquid-S4 terms).
    public static let liquidModule = "src.models.sequence.ss.s4.S4"

    // MARK: Sanitize steps (one per foreign format)

    /// DSS/DLR: `kernel.*` → `layer.kernel.*`, `D` → `layer.D`, the Conv1d-style bias `(2H, 1)` → `(2H)`.
    public static func sanitizeDSS(_ sd: [String: Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in sd {
            if k.hasPrefix("kernel.") { out["layer." + k] = v }
            else if k == "D" { out["layer.D"] = v }
            else if k == "output_linear.0.bias", v.rank == 2, v.shape[1] == 1 { out[k] = v.reshaped([v.shape[0]]) }
            else { out[k] = v }
        }
        return out
    }

    /// SGConv: `kernel_list.i`, `multiplier`, `kernel_norm` → `layer.kernel.*`, `D` → `layer.D`;
    /// the `kernel_norm_initialized` flag is dropped (the norm is always set here).
    public static func sanitizeSGConv(_ sd: [String: Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in sd {
            if k == "kernel_norm_initialized" { continue }
            if k.hasPrefix("kernel_list.") || k == "multiplier" || k == "kernel_norm" { out["layer.kernel." + k] = v }
            else if k == "D" { out["layer.D"] = v }
            else { out[k] = v }
        }
        return out
    }

    /// Liquid-S4: `kernel.kernel.{log_dt, inv_A_real, A_imag, B, C}` → the S4D kernel's
    /// `inv_dt` `(H, 1)`, `A_real`, `A_imag` (negated: upstream's Λ has `+A_imag`), `B` `(1, H, N, 2)`, `C`;
    /// `kernel.kernel.A` (upstream's separate copy of Λ read by the liquid terms) is dropped — the
    /// terms here use the kernel's own Λ. `D` → `layer.D`.
    public static func sanitizeLiquid(_ sd: [String: Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in sd {
            switch k {
            case "kernel.kernel.log_dt": out["layer.kernel.inv_dt"] = v.reshaped([v.count, 1])
            case "kernel.kernel.inv_A_real": out["layer.kernel.A_real"] = v
            case "kernel.kernel.A_imag": out["layer.kernel.A_imag"] = v * -1
            case "kernel.kernel.B": out["layer.kernel.B"] = v.reshaped([1] + v.shape)
            case "kernel.kernel.C": out["layer.kernel.C"] = v
            case "kernel.kernel.A": continue
            case "D": out["layer.D"] = v
            default: out[k] = v
            }
        }
        return out
    }

    // MARK: Builders

    /// The Liquid-S4 layer from its arguments (`d_model`, `d_state`, `l_max`, `liquid_kernel`,
    /// `liquid_degree`, `allcombs`, `mode` `diag`, `measure`, …) and weights.
    public static func liquidBlock(arguments a: ModuleArguments, stateDict: [String: Tensor]) throws -> S4Block {
        var rng = SeededRNG(seed: 0)
        let h = try a.requiredInt("d_model")
        let n = try a.int("d_state", default: 64)
        guard h > 0, n >= 2, n % 2 == 0 else { throw OfficialModuleError.unsupportedArgument(key: "d_state", value: "\(n)", reason: "must be even, d_model positive") }
        let kindName = try a.string("liquid_kernel", default: "kb")
        guard let kind = LiquidTerms.Kind(rawValue: kindName) else {
            throw OfficialModuleError.unsupportedArgument(key: "liquid_kernel", value: kindName, reason: "implemented: kb, polyb")
        }
        let degree = try a.int("liquid_degree", default: 2)
        guard degree >= 2 else { throw OfficialModuleError.unsupportedArgument(key: "liquid_degree", value: "\(degree)", reason: "must be at least 2") }
        try a.expect("allcombs", in: ["true"], reason: "only allcombs=true is implemented")
        try a.expect("mode", in: ["diag"], reason: "Liquid-S4 terms on the diagonal kernel only")
        try a.expect("lcontract", in: ["null"], reason: "only the identity contraction is implemented")
        try a.expect("shift", in: ["false"], reason: "the shift kernel is not implemented")
        try a.expect("bidirectional", in: ["false"], reason: "bidirectional Liquid-S4 is not implemented")
        try a.expect("channels", in: ["1"], reason: "one channel only")
        let discName = try a.string("disc", default: "bilinear")
        guard let disc = Discretization(rawValue: discName), disc != .dss else {
            throw OfficialModuleError.unsupportedArgument(key: "disc", value: discName, reason: "implemented: zoh, bilinear")
        }
        a.accept(["measure", "l_max", "dropout", "lr", "wd", "dt_min", "dt_max", "verbose", "real_type", "rank", "hurwitz"])
        let kernel = S4DKernel(S4DKernelConfiguration(features: h, stateSize: n, discretization: disc), rng: &rng)
        let act = try OfficialLoader.activation(a.string("activation", default: "gelu"), key: "activation")
        let post = try a.isPresent("postact") ? a.string("postact") : "glu"
        let final = try post.map { try OfficialLoader.activation($0, key: "postact") }
        let transposed = try a.bool("transposed", default: true)
        try a.finish()
        let conv = FFTConv(kernel: kernel, activation: act, liquid: LiquidTerms(kind: kind, degree: degree), rng: &rng)
        let block = S4Block(layer: conv, finalActivation: final, rng: &rng)
        block.transposed = transposed
        do { try block.load(stateDict: sanitizeLiquid(stateDict)) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return block
    }

    /// The DSS author's block from its arguments (`d_model`, `d_state`, `l_max`, `kernel_type`,
    /// `version`, `bidirectional`, `activation`, `postact`, `transposed`, …) and weights.
    public static func dssBlock(arguments a: ModuleArguments, stateDict: [String: Tensor]) throws -> S4Block {
        var rng = SeededRNG(seed: 0)
        let h = try a.requiredInt("d_model")
        let n = try a.int("d_state", default: 64)
        guard h > 0, n > 0 else { throw OfficialModuleError.unsupportedArgument(key: "d_model", value: "\(h)", reason: "sizes must be positive") }
        let lMax = try a.int("l_max")
        let channels = try a.int("channels", default: 1)
        let bidirectional = try a.bool("bidirectional", default: false)
        let kernelChannels = channels * (bidirectional ? 2 : 1)
        let type = try a.string("kernel_type", default: "dss")
        let kernel: any SequenceKernel
        switch type {
        case "dss":
            let version = try a.string("version", default: "exp")
            guard let v = DSSKernel.Version(rawValue: version) else {
                throw OfficialModuleError.unsupportedArgument(key: "version", value: version, reason: "implemented: exp, softmax")
            }
            kernel = DSSKernel(features: h, channels: kernelChannels, stateSize: n, version: v, stepLength: lMax, rng: &rng)
        case "dlr":
            try a.expect("version", in: ["", "null"], reason: "only the default DLR version (complex Λ with ρ², complex W) is implemented")
            kernel = DLRKernel(features: h, channels: kernelChannels, stateSize: n, rng: &rng)
        default:
            throw OfficialModuleError.unsupportedArgument(key: "kernel_type", value: type, reason: "implemented: dss, dlr")
        }
        try a.expect("kernel_to_real", in: ["real"], reason: "only the real part is implemented")
        try a.expect("max_kernel_length", in: ["null"], reason: "kernels as long as the input only")
        try a.expect("hyper_act", in: ["null"], reason: "hypernetwork gating is not implemented")
        try a.expect("sep_dt_re_im", in: ["false"], reason: "one dt per feature only")
        a.accept(["dropout", "lr", "wd", "Lambda_init", "dt_min", "dt_max", "W_scale", "epsilon", "trainable", "verbose"])
        let block = try tail(arguments: a, kernel: kernel, channels: channels, bidirectional: bidirectional, rng: &rng)
        do { try block.load(stateDict: sanitizeDSS(stateDict)) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return block
    }

    /// SGConv's `GConv` (mode `cat_randn`) from its arguments and weights.
    public static func sgconvBlock(arguments a: ModuleArguments, stateDict: [String: Tensor]) throws -> S4Block {
        var rng = SeededRNG(seed: 0)
        let h = try a.requiredInt("d_model")
        guard let lMax = try a.int("l_max"), lMax > 0 else { throw OfficialModuleError.missingArgument("l_max") }
        let dim = try a.int("kernel_dim", default: 64)
        try a.expect("mode", in: ["cat_randn"], reason: "only the cat_randn mode is implemented")
        try a.expect("init_scale", in: ["0"], reason: "only init_scale 0 is implemented")
        try a.expect("n_scales", in: ["null"], reason: "the number of scales follows from l_max and kernel_dim")
        try a.expect("ln", in: ["false"], reason: "the LayerNorm option is not implemented")
        try a.expect("linear", in: ["false"], reason: "the linear option is not implemented")
        try a.expect("hyper_act", in: ["null"], reason: "hypernetwork gating is not implemented")
        let decayMin = try a.double("decay_min", default: 2), decayMax = try a.double("decay_max", default: 2)
        guard decayMin == decayMax else {
            throw OfficialModuleError.unsupportedArgument(key: "decay_max", value: "\(decayMax)", reason: "one decay for all features only")
        }
        let channels = try a.int("channels", default: 1)
        let bidirectional = try a.bool("bidirectional", default: false)
        a.accept(["dropout", "lr", "wd", "kernel_args", "verbose"])
        let kernel = SGConvKernel(features: h, channels: channels * (bidirectional ? 2 : 1), kernelDim: dim, maxLength: lMax,
                                  decay: Float(decayMin), rng: &rng)
        let block = try tail(arguments: a, kernel: kernel, channels: channels, bidirectional: bidirectional, rng: &rng)
        do { try block.load(stateDict: sanitizeSGConv(stateDict)) } catch let e as StateDictError { throw OfficialModuleError.weights(e) }
        return block
    }

    /// FFTConv (activation) + output linear (`postact`), shared by the foreign blocks.
    static func tail(arguments a: ModuleArguments, kernel: any SequenceKernel, channels: Int, bidirectional: Bool,
                     rng: inout SeededRNG) throws -> S4Block {
        let act = try OfficialLoader.activation(a.string("activation", default: "gelu"), key: "activation")
        guard act != .glu else {
            throw OfficialModuleError.unsupportedArgument(key: "activation", value: "glu", reason: "GLU inside the convolution is not implemented")
        }
        let post = try a.isPresent("postact") ? a.string("postact") : "glu"
        let final = try post.map { try OfficialLoader.activation($0, key: "postact") }
        let transposed = try a.bool("transposed", default: true)
        try a.finish()
        let conv = FFTConv(kernel: kernel, channels: channels, bidirectional: bidirectional, activation: act, rng: &rng)
        let block = S4Block(layer: conv, finalActivation: final, rng: &rng)
        block.transposed = transposed
        return block
    }
}
