import Foundation

/// The options of a sequence kernel, decoded once from a checkpoint's configuration or the
/// command line and checked against the registry (``KernelRegistry/validate(_:)``) before anything
/// is built. JSON keys are snake_case, as the official arguments: `kernel`, `d_state`, `init`,
/// `disc`, `dt_min`, `dt_max`, `bandlimit`, `reparam`, `n_ssm`, `kernel_dim`.
/// (Liquid-S4's input terms act on the layer's input, so they are an ``FFTConv`` option,
/// ``LiquidTerms``, not a kernel option.) `nil` means the kernel's default.
public struct KernelOptions: Codable, Equatable, Sendable {
    /// Registry name (`s4d`, `dplr`, `dss`, `dlr`, `ema`, `sgconv`, `conv`).
    public var kernel: String = "s4d"
    /// State size `N` (complex kernels keep `N/2` conjugate pairs).
    public var stateSize: Int = 64
    /// Initialisation (`diag-lin`, `legs`, `exp`, …); valid values depend on the kernel.
    public var initialization: String? = nil
    /// Discretisation (`zoh`, `bilinear`, `dss`); valid values depend on the kernel.
    public var discretization: String? = nil
    public var dtMin: Float = 0.001
    public var dtMax: Float = 0.1
    /// Zero the modes at or above `bandlimit / 2` cycles per sample (continuous kernels).
    public var bandlimit: Float? = nil
    /// StableSSM parameterisation of the real part of `A`: `exp` (default), `softplus`, `best`.
    public var reparam: String? = nil
    /// Independent `(A, B)` copies (`n_ssm`); `nil` = one per feature.
    public var ssmCopies: Int? = nil
    /// Length of each SGConv sub-kernel, or of a plain `conv` kernel (default: the training length).
    public var kernelDim: Int? = nil

    public init(kernel: String = "s4d", stateSize: Int = 64, initialization: String? = nil, discretization: String? = nil,
                dtMin: Float = 0.001, dtMax: Float = 0.1, bandlimit: Float? = nil, reparam: String? = nil,
                ssmCopies: Int? = nil, kernelDim: Int? = nil) {
        self.kernel = kernel; self.stateSize = stateSize; self.initialization = initialization
        self.discretization = discretization; self.dtMin = dtMin; self.dtMax = dtMax; self.bandlimit = bandlimit
        self.reparam = reparam; self.ssmCopies = ssmCopies; self.kernelDim = kernelDim
    }

    enum CodingKeys: String, CodingKey {
        case kernel, stateSize = "d_state", initialization = "init", discretization = "disc", dtMin = "dt_min"
        case dtMax = "dt_max", bandlimit, reparam, ssmCopies = "n_ssm", kernelDim = "kernel_dim"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = KernelOptions()
        kernel = try c.decodeIfPresent(String.self, forKey: .kernel) ?? d.kernel
        stateSize = try c.decodeIfPresent(Int.self, forKey: .stateSize) ?? d.stateSize
        initialization = try c.decodeIfPresent(String.self, forKey: .initialization)
        discretization = try c.decodeIfPresent(String.self, forKey: .discretization)
        dtMin = try c.decodeIfPresent(Float.self, forKey: .dtMin) ?? d.dtMin
        dtMax = try c.decodeIfPresent(Float.self, forKey: .dtMax) ?? d.dtMax
        bandlimit = try c.decodeIfPresent(Float.self, forKey: .bandlimit)
        reparam = try c.decodeIfPresent(String.self, forKey: .reparam)
        ssmCopies = try c.decodeIfPresent(Int.self, forKey: .ssmCopies)
        kernelDim = try c.decodeIfPresent(Int.self, forKey: .kernelDim)
    }

    /// The registry entry of ``kernel`` (throws for an unknown name).
    public func entry() throws -> KernelEntry { try KernelRegistry.entry(kernel) }

    /// The initialisation in effect (the kernel's default when unset).
    public func resolvedInitialization() throws -> String { try initialization ?? entry().initializations[0] }
    /// The discretisation in effect.
    public func resolvedDiscretization() throws -> String { try discretization ?? entry().discretizations.first ?? "none" }

    /// The StableSSM map in effect.
    public var resolvedReparameterization: RealReparameterization {
        reparam.flatMap(RealReparameterization.init(rawValue:)) ?? .exp
    }

    /// One-line description, e.g. `dplr(init=legs, disc=bilinear, N=64)`.
    public var summary: String {
        var parts = ["N=\(stateSize)"]
        if let i = try? resolvedInitialization() { parts.insert("init=\(i)", at: 0) }
        if let d = try? resolvedDiscretization(), d != "none" { parts.insert("disc=\(d)", at: 1) }
        if let r = reparam, r != "exp" { parts.append("reparam=\(r)") }
        return "\(kernel)(\(parts.joined(separator: ", ")))"
    }
}

/// StableSSM maps from an unconstrained parameter `w` to the (negative) real part of `A`
/// (Wang & Li, "StableSSM", 2024): `Re A = −f(w)`.
public enum RealReparameterization: String, Codable, Sendable, CaseIterable {
    /// `f(w) = exp(w)` — the S4D default; `∂f/∂w = f` grows with the eigenvalue.
    case exp
    /// `f(w) = softplus(w) = log(1 + eʷ)`; `∂f/∂w = σ(w) ≤ 1`.
    case softplus
    /// The paper's "best" map `f(w) = 1/(a·w² + b)` (`a = 0.5`, `b = 1e-4`): as an eigenvalue
    /// approaches the stability boundary (`Re A → 0⁻`, `|w| → ∞`) the gradient
    /// `∂f/∂w = −2aw·f²` goes to 0 instead of staying proportional to `f` or growing.
    case best

    /// The paper's constants for ``best``.
    public static let bestA: Float = 0.5, bestB: Float = 1e-4

    /// `f(w)` on an autograd value.
    public func apply(_ w: Variable) -> Variable {
        switch self {
        case .exp: return SSMCore.exp(w)
        case .softplus: return SSMCore.softplus(w)
        case .best: return 1 / (w * w * RealReparameterization.bestA + RealReparameterization.bestB)
        }
    }

    /// `f(w)` on one value.
    public func apply(_ w: Double) -> Double {
        switch self {
        case .exp: return Foundation.exp(w)
        case .softplus: return max(w, 0) + Foundation.log1p(Foundation.exp(-abs(w)))
        case .best: return 1 / (Double(RealReparameterization.bestA) * w * w + Double(RealReparameterization.bestB))
        }
    }

    /// `∂f/∂w` at `w`.
    public func derivative(_ w: Double) -> Double {
        switch self {
        case .exp: return Foundation.exp(w)
        case .softplus: return 1 / (1 + Foundation.exp(-w))
        case .best:
            let f = apply(w)
            return -2 * Double(RealReparameterization.bestA) * w * f * f
        }
    }

    /// The parameter `w` with `f(w) = value` (`value > 0`), for initialisation.
    public func inverse(_ value: Double) -> Double {
        switch self {
        case .exp: return Foundation.log(value)
        case .softplus: return value > 20 ? value : Foundation.log(Foundation.expm1(value))
        case .best:
            // a·w² + b = 1/value, w ≥ 0 (clamped at 0 when 1/value < b).
            let w2 = (1 / value - Double(RealReparameterization.bestB)) / Double(RealReparameterization.bestA)
            return w2 > 0 ? w2.squareRoot() : 0
        }
    }
}

/// What a kernel is built for: `H` features, `C` channels per feature (2 for a bidirectional
/// layer), and the training length `l_max` when the layer has one (needed by kernels whose size
/// depends on it: DPLR's `l_kernel`, SGConv, `conv`).
public struct KernelShape: Sendable, Equatable {
    public var features: Int
    public var channels: Int
    public var maxLength: Int?
    public init(features: Int, channels: Int = 1, maxLength: Int? = nil) {
        self.features = features; self.channels = channels; self.maxLength = maxLength
    }
}

/// One row of the kernel table.
public struct KernelEntry: Sendable {
    public let name: String
    /// One line for `--help` and `ssm inspect`.
    public let summary: String
    /// Valid `init` values; the first is the default.
    public let initializations: [String]
    /// Valid `disc` values (empty: the kernel has no discretisation); the first is the default.
    public let discretizations: [String]
    /// Whether the kernel has an equivalent recurrence (step mode).
    public let hasStepMode: Bool
    /// Whether `rate` changes the kernel as a resampling of a continuous-time system; when
    /// `false`, `rate` is honoured only as described in ``rateNote``.
    public let continuousTime: Bool
    /// How the kernel treats a sampling-rate change.
    public let rateNote: String
    /// Whether `reparam` and `bandlimit` apply.
    public let supportsReparameterization: Bool
    public let supportsBandlimit: Bool
    /// Builds a freshly initialised kernel; options are already validated.
    public let build: @Sendable (KernelOptions, KernelShape, inout SeededRNG) throws -> any SequenceKernel

    public init(name: String, summary: String, initializations: [String], discretizations: [String], hasStepMode: Bool,
                continuousTime: Bool, rateNote: String, supportsReparameterization: Bool = false,
                supportsBandlimit: Bool = false,
                build: @escaping @Sendable (KernelOptions, KernelShape, inout SeededRNG) throws -> any SequenceKernel) {
        self.name = name; self.summary = summary; self.initializations = initializations
        self.discretizations = discretizations; self.hasStepMode = hasStepMode; self.continuousTime = continuousTime
        self.rateNote = rateNote; self.supportsReparameterization = supportsReparameterization
        self.supportsBandlimit = supportsBandlimit; self.build = build
    }
}

/// Problems with kernel options, each naming the field.
public enum KernelOptionsError: Error, Equatable, CustomStringConvertible {
    case unknownKernel(String, valid: [String])
    case invalid(field: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownKernel(n, valid): return "unknown kernel \"\(n)\" (valid: \(valid.joined(separator: ", ")))"
        case let .invalid(f, v, r): return "\(f) = \(v): \(r)"
        }
    }
}

/// The table from a kernel's name to its builder (as the official `kernels/__init__.py`).
/// Adding a kernel is one file with its `entry` and one line here.
public enum KernelRegistry {
    public static var entries: [KernelEntry] {
        [S4DKernel.entry, DPLRKernel.entry, DSSKernel.entry, DLRKernel.entry, EMAKernel.entry, SGConvKernel.entry, ConvKernel.entry]
    }

    public static var names: [String] { entries.map(\.name) }

    public static func entry(_ name: String) throws -> KernelEntry {
        guard let e = entries.first(where: { $0.name == name }) else { throw KernelOptionsError.unknownKernel(name, valid: names) }
        return e
    }

    /// Checks every option against the kernel's entry; throws the first problem, naming the field.
    public static func validate(_ o: KernelOptions) throws {
        let e = try entry(o.kernel)
        func bad(_ f: String, _ v: String, _ r: String) -> KernelOptionsError { .invalid(field: f, value: v, reason: r) }
        if !(2...1024).contains(o.stateSize) || o.stateSize % 2 != 0 {
            throw bad("d_state", "\(o.stateSize)", "must be even and in 2…1024")
        }
        if let i = o.initialization, !e.initializations.contains(i) {
            throw bad("init", i, "\(e.name) takes \(e.initializations.joined(separator: ", "))")
        }
        if let d = o.discretization {
            if e.discretizations.isEmpty { throw bad("disc", d, "\(e.name) has no discretisation") }
            if !e.discretizations.contains(d) { throw bad("disc", d, "\(e.name) takes \(e.discretizations.joined(separator: ", "))") }
        }
        if !(o.dtMin > 0 && o.dtMin.isFinite) { throw bad("dt_min", "\(o.dtMin)", "must be > 0") }
        if !(o.dtMax >= o.dtMin && o.dtMax.isFinite) { throw bad("dt_max", "\(o.dtMax)", "must be ≥ dt_min (\(o.dtMin)) and finite") }
        if let b = o.bandlimit {
            if !(b > 0 && b.isFinite) { throw bad("bandlimit", "\(b)", "must be > 0 (leave it out for none)") }
            if !e.supportsBandlimit { throw bad("bandlimit", "\(b)", "\(e.name) has no bandlimit (s4d and dplr do)") }
        }
        if let r = o.reparam {
            guard let map = RealReparameterization(rawValue: r) else {
                throw bad("reparam", r, "valid: \(RealReparameterization.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if map != .exp && !e.supportsReparameterization { throw bad("reparam", r, "\(e.name) has no real part of A to reparameterise") }
        }
        if let s = o.ssmCopies, s < 1 { throw bad("n_ssm", "\(s)", "must be positive") }
        if let k = o.kernelDim, !(1...(1 << 20)).contains(k) { throw bad("kernel_dim", "\(k)", "must be in 1…1048576") }
    }

    /// A validated, freshly initialised kernel.
    public static func build(_ o: KernelOptions, shape: KernelShape, rng: inout SeededRNG) throws -> any SequenceKernel {
        try validate(o)
        if shape.features < 1 { throw KernelOptionsError.invalid(field: "d_model", value: "\(shape.features)", reason: "must be positive") }
        if let s = o.ssmCopies, shape.features % s != 0 {
            throw KernelOptionsError.invalid(field: "n_ssm", value: "\(s)", reason: "must divide d_model \(shape.features)")
        }
        let k = try entry(o.kernel).build(o, shape, &rng)
        precondition(k.features == shape.features && k.channels == shape.channels, "kernel \(o.kernel) built with the wrong shape")
        return k
    }
}
