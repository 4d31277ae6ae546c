import SSMCore

/// Constructor arguments of an S4ND layer, under the official argument names so that the
/// `args` JSON of an official checkpoint decodes directly (`d_model`, `d_state`, `l_max`, …).
public struct S4NDConfig: Codable, Equatable, Sendable {
    /// Channels `H`.
    public var dModel: Int
    /// State size `N` (the kernel keeps `N/2` complex-conjugate pairs).
    public var dState: Int = 64
    /// Kernel length per axis at `rate = 1` (the training resolution).
    public var lMax: [Int]
    /// Kernel family (`diag` = S4D).
    public var mode: String = "diag"
    /// `diag-lin` or `diag-inv`.
    public var initialisation: String = "diag-lin"
    /// `zoh` or `bilinear`.
    public var disc: String = "zoh"
    /// Two kernels per axis (one for each direction).
    public var bidirectional: Bool = true
    /// Activation after the convolution (`gelu`).
    public var activation: String = "gelu"
    /// Output projection's activation (`glu`: Linear(H → 2H) then GLU).
    public var finalAct: String = "glu"
    public var dtMin: Float = 0.1
    public var dtMax: Float = 1.0
    /// Zero the kernel's modes whose frequency is at least `bandlimit / 2` (cycles per sample at rate 1).
    public var bandlimit: Float? = nil
    /// The registry kernel of every axis; `nil` = the official `mode` (`diag` → `s4d`) with the
    /// options above. Not part of the official arguments (not encoded).
    public var kernel: KernelOptions? = nil

    /// The kernel options in effect.
    public var kernelOptions: KernelOptions {
        if let kernel { return kernel }
        return KernelOptions(kernel: mode == "diag" ? "s4d" : mode, stateSize: dState, initialization: initialisation,
                             discretization: disc, dtMin: dtMin, dtMax: dtMax, bandlimit: bandlimit)
    }

    public init(dModel: Int, dState: Int = 64, lMax: [Int], bidirectional: Bool = true, disc: String = "zoh",
                initialisation: String = "diag-lin", dtMin: Float = 0.1, dtMax: Float = 1.0, bandlimit: Float? = nil) {
        self.dModel = dModel
        self.dState = dState
        self.lMax = lMax
        self.bidirectional = bidirectional
        self.disc = disc
        self.initialisation = initialisation
        self.dtMin = dtMin
        self.dtMax = dtMax
        self.bandlimit = bandlimit
    }

    /// Number of spatial axes.
    public var dim: Int { lMax.count }

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", dState = "d_state", lMax = "l_max", mode, initialisation = "init", disc
        case bidirectional, activation, finalAct = "final_act", dtMin = "dt_min", dtMax = "dt_max", bandlimit
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dModel = try c.decode(Int.self, forKey: .dModel)
        dState = try c.decodeIfPresent(Int.self, forKey: .dState) ?? 64
        lMax = try c.decode([Int].self, forKey: .lMax)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "diag"
        initialisation = try c.decodeIfPresent(String.self, forKey: .initialisation) ?? "diag-lin"
        disc = try c.decodeIfPresent(String.self, forKey: .disc) ?? "zoh"
        bidirectional = try c.decodeIfPresent(Bool.self, forKey: .bidirectional) ?? true
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? "gelu"
        finalAct = try c.decodeIfPresent(String.self, forKey: .finalAct) ?? "glu"
        dtMin = try c.decodeIfPresent(Float.self, forKey: .dtMin) ?? 0.1
        dtMax = try c.decodeIfPresent(Float.self, forKey: .dtMax) ?? 1.0
        bandlimit = try c.decodeIfPresent(Float.self, forKey: .bandlimit)
    }
}
