import ArgumentParser
import SSMCore

/// `--kernel NAME` and the kernel's own options, shared by every training command. Values are
/// checked against the registry (``KernelRegistry``) when applied, so an unknown kernel or an
/// option the kernel does not take is a clear error naming the flag.
struct KernelOptionGroup: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Convolution kernel of every SSM layer (default s4d).",
        discussion: "One of: " + KernelRegistry.entries.map { "\($0.name) — \($0.summary)" }.joined(separator: "; ") + "."))
    var kernel: String?

    @Option(help: ArgumentHelp(
        "Kernel initialisation (default: the kernel's first).",
        discussion: KernelRegistry.entries.map { "\($0.name): \($0.initializations.joined(separator: ", "))" }.joined(separator: "; ") + "."))
    var `init`: String?

    @Option(help: ArgumentHelp(
        "Discretisation or normalisation (default: the kernel's first).",
        discussion: KernelRegistry.entries.filter { !$0.discretizations.isEmpty }
            .map { "\($0.name): \($0.discretizations.joined(separator: ", "))" }.joined(separator: "; ") + "."))
    var disc: String?

    @Option(help: "StableSSM map of Re A: exp (default), softplus, or best (1/(a·w² + b)); s4d and dplr.")
    var reparam: String?

    @Option(help: ArgumentHelp(
        "Sequence block (default s4).",
        discussion: BlockKind.allCases.map { "\($0.rawValue) — \($0.summary)" }.joined(separator: "; ") + "."))
    var block: String?

    @Option(help: "State Memory Replay: gate each sequence block's input with a learnt causal window of this many samples (train-sashimi).")
    var smr: Int?

    @Option(name: .customLong("kernel-dim"), help: "Sub-kernel length of sgconv (default 16) or taps of conv (default: the training length).")
    var kernelDim: Int?

    /// The block, validated (`s4` when not given).
    func blockKind() throws -> BlockKind {
        do { return try block.map(BlockKind.init(validating:)) ?? .s4 } catch { throw ValidationError("--block: \(error)") }
    }

    /// `base` with the given options applied, validated; options that only continuous kernels
    /// take (`bandlimit`) are dropped for the others unless `keepBandlimit`.
    func applied(to base: KernelOptions, keepBandlimit: Bool = false) throws -> KernelOptions {
        var o = base
        if let kernel, kernel != o.kernel {
            o.kernel = kernel
            o.initialization = nil; o.discretization = nil
        }
        if let i = `init` { o.initialization = i }
        if let d = disc { o.discretization = d }
        if let r = reparam { o.reparam = r }
        if let k = kernelDim { o.kernelDim = k }
        let entry: KernelEntry
        do { entry = try o.entry() } catch { throw ValidationError("--kernel: \(error)") }
        if !entry.supportsBandlimit && !keepBandlimit { o.bandlimit = nil }
        do { try KernelRegistry.validate(o) } catch let e as KernelOptionsError {
            throw ValidationError("kernel options: \(e) (see --help for each kernel's values)")
        }
        return o
    }

    /// Given options that differ from a checkpoint's kernel (for --resume).
    func conflicts(with stored: KernelOptions) -> [String] {
        var out: [String] = []
        if let kernel, kernel != stored.kernel { out.append("--kernel \(kernel) (checkpoint: \(stored.kernel))") }
        if let i = `init`, i != (try? stored.resolvedInitialization()) { out.append("--init \(i) (checkpoint: \((try? stored.resolvedInitialization()) ?? "?"))") }
        if let d = disc, d != (try? stored.resolvedDiscretization()) { out.append("--disc \(d) (checkpoint: \((try? stored.resolvedDiscretization()) ?? "?"))") }
        if let r = reparam, r != stored.resolvedReparameterization.rawValue { out.append("--reparam \(r) (checkpoint: \(stored.resolvedReparameterization.rawValue))") }
        if let k = kernelDim, k != stored.kernelDim { out.append("--kernel-dim \(k) (checkpoint: \(stored.kernelDim.map(String.init) ?? "default"))") }
        return out
    }
}
