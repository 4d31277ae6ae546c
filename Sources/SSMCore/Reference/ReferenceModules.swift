import Foundation

/// One golden fixture produced by the official code: weights under official keys, `io.*` inputs
/// and expected outputs, and `__metadata__` (`module`, `args`, …).
public struct ReferenceFixture {
    /// File name without the `.safetensors` extension.
    public let name: String
    public let tensors: [String: Tensor]
    public let metadata: [String: String]

    public init(name: String, file: SafeTensorsFile) {
        self.name = name
        tensors = file.tensors
        metadata = file.metadata
    }

    /// `__metadata__["module"]`.
    public var module: String? { metadata["module"] }
    /// The state dict: every tensor whose key does not start with `io.`.
    public var weights: [String: Tensor] { tensors.filter { !$0.key.hasPrefix("io.") } }
    /// Keys of the expected outputs (`io.output*`), sorted.
    public var outputKeys: [String] { tensors.keys.filter { $0.hasPrefix("io.output") }.sorted() }

    /// `__metadata__["args"]` parsed.
    public func arguments() throws -> ModuleArguments {
        guard let json = metadata["args"] else { throw ReferenceFixtureError.missingMetadata(fixture: name, key: "args") }
        return try ModuleArguments(json: json)
    }

    /// The tensor under `key`.
    public func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw ReferenceFixtureError.missingTensor(fixture: name, key: key) }
        return t
    }

    /// The input and rate that produce output `key`: `io.output` ← `io.input` at rate 1;
    /// `io.output_rate<r>` ← `io.input_rate<r>` at rate `r`. `nil` for other keys.
    public func convolutionInput(for key: String) throws -> (input: Tensor, rate: Float)? {
        if key == "io.output" { return (try tensor("io.input"), 1) }
        let suffix = key.dropFirst("io.output".count)
        guard suffix.hasPrefix("_rate"), let r = Float(suffix.dropFirst("_rate".count)), r > 0 else { return nil }
        return (try tensor("io.input" + suffix), r)
    }
}

/// Problems with a fixture file itself or with what a runner could do with it.
public enum ReferenceFixtureError: Error, CustomStringConvertible {
    case missingMetadata(fixture: String, key: String)
    case missingTensor(fixture: String, key: String)
    case unsupportedOutput(fixture: String, key: String)
    /// A module could not be built or run; `reason` is the underlying error.
    case module(fixture: String, reason: String)

    public var description: String {
        switch self {
        case let .missingMetadata(f, k): return "\(f): no '\(k)' in __metadata__"
        case let .missingTensor(f, k): return "\(f): no tensor '\(k)'"
        case let .unsupportedOutput(f, k): return "\(f): no way to compute '\(k)'"
        case let .module(f, r): return "\(f): \(r)"
        }
    }
}

/// Computes, for a fixture, every expected output it can (keyed like the fixture's `io.output*`).
public typealias ReferenceRunner = (ReferenceFixture) throws -> [String: Tensor]

/// The table from official module names to runners that build the module from a fixture's
/// arguments and weights and compute its outputs. S4 modules are built in; other modules (S4ND,
/// SaShiMi) register themselves with ``register(_:runner:)``.
public enum ReferenceModules {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var table: [String: ReferenceRunner] = [
        OfficialLoader.s4BlockModule: runS4Block,
        OfficialLoader.srcS4BlockModule: { f in
            // With `gate`, the GSS-style gated block; otherwise the plain block.
            if (try? f.arguments())?.has("gate") == true { return try runGated(f) }
            return try runS4Block(f)
        },
        ForeignLoaders.dssModule: { f in try runBlock(f) { try ForeignLoaders.dssBlock(arguments: f.arguments(), stateDict: f.weights) } },
        ForeignLoaders.liquidModule: { f in try runConvolution(f) { try ForeignLoaders.liquidBlock(arguments: f.arguments(), stateDict: f.weights) } },
        S5Layer.module: runS5,
        MambaBlock.module: runMamba,
        ForeignLoaders.sgconvModule: { f in try runBlock(f) { try ForeignLoaders.sgconvBlock(arguments: f.arguments(), stateDict: f.weights) } },
        OfficialLoader.fftConvModule: runFFTConv,
    ]

    /// Adds or replaces the runner for `module`.
    public static func register(_ module: String, runner: @escaping ReferenceRunner) {
        lock.lock(); defer { lock.unlock() }
        table[module] = runner
    }

    /// The runner for `module`, if any.
    public static func runner(for module: String) -> ReferenceRunner? {
        lock.lock(); defer { lock.unlock() }
        return table[module]
    }

    /// Module names with a runner.
    public static var registered: [String] {
        lock.lock(); defer { lock.unlock() }
        return table.keys.sorted()
    }

    static func runS4Block(_ f: ReferenceFixture) throws -> [String: Tensor] {
        try runBlock(f) { try OfficialLoader.s4Block(arguments: f.arguments(), stateDict: f.weights) }
    }

    /// The convolution-mode outputs only (layers whose step differs from their convolution by design,
    /// as Liquid-S4's non-causal terms).
    static func runConvolution(_ f: ReferenceFixture, build: () throws -> S4Block) throws -> [String: Tensor] {
        let block = try wrap(f, build)
        var out: [String: Tensor] = [:]
        for key in f.outputKeys {
            guard let (input, rate) = try f.convolutionInput(for: key) else { throw ReferenceFixtureError.unsupportedOutput(fixture: f.name, key: key) }
            out[key] = Autograd.withoutGradients { block(Variable(input), rate: rate).value }
        }
        return out
    }

    /// Every `io.output*` of an S4Block-shaped fixture (convolution, and `io.output_step` by stepping).
    static func runBlock(_ f: ReferenceFixture, build: () throws -> S4Block) throws -> [String: Tensor] {
        let block = try wrap(f, build)
        var out: [String: Tensor] = [:]
        for key in f.outputKeys {
            if let (input, rate) = try f.convolutionInput(for: key) {
                try checkSequenceInput(input, features: block.features, channelAxis: block.transposed ? 1 : 2, fixture: f)
                out[key] = Autograd.withoutGradients { block(Variable(input), rate: rate).value }
            } else if key == "io.output_step" {
                let input = try f.tensor("io.input")
                try checkSequenceInput(input, features: block.features, channelAxis: block.transposed ? 1 : 2, fixture: f)
                out[key] = try wrap(f) { try stepThrough(block, input: input) }
            } else {
                throw ReferenceFixtureError.unsupportedOutput(fixture: f.name, key: key)
            }
        }
        return out
    }

    /// S5 fixtures are `(L, H)` without a batch axis; `io.output_rescale<s>` uses `io.input_rescale<s>`
    /// at `step_rescale = s` (our `rate`).
    static func runS5(_ f: ReferenceFixture) throws -> [String: Tensor] {
        let layer = try wrap(f) { try S5Layer.authors(arguments: f.arguments(), stateDict: f.weights) }
        var out: [String: Tensor] = [:]
        for key in f.outputKeys {
            let suffix = String(key.dropFirst("io.output".count))
            let rate: Float
            if suffix.isEmpty { rate = 1 }
            else if suffix.hasPrefix("_rescale"), let r = Float(suffix.dropFirst("_rescale".count)), r > 0 { rate = r }
            else { throw ReferenceFixtureError.unsupportedOutput(fixture: f.name, key: key) }
            let input = try f.tensor("io.input" + suffix)
            guard input.rank == 2, input.shape[1] == layer.features else {
                throw ReferenceFixtureError.module(fixture: f.name, reason: "S5 input must be (L, \(layer.features)), got \(input.shape)")
            }
            let x = Variable(input.permuted([1, 0]).reshaped([1, layer.features, input.shape[0]]))
            out[key] = Autograd.withoutGradients { layer.forward(x, rate: rate).value.reshaped([layer.features, input.shape[0]]).permuted([1, 0]) }
        }
        return out
    }

    /// Mamba fixtures are `(B, L, H)`: `io.output` by the scan, `io.output_step` token by token.
    static func runMamba(_ f: ReferenceFixture) throws -> [String: Tensor] {
        let block = try wrap(f) { try MambaBlock.reference(arguments: f.arguments(), stateDict: f.weights) }
        let input = try f.tensor("io.input")
        try checkSequenceInput(input, features: block.features, channelAxis: 2, fixture: f)
        let x = input.permuted([0, 2, 1])
        var out: [String: Tensor] = [:]
        for key in f.outputKeys {
            switch key {
            case "io.output": out[key] = Autograd.withoutGradients { block.forward(Variable(x), rate: 1).value.permuted([0, 2, 1]) }
            case "io.output_step": out[key] = block.stepThrough(x).permuted([0, 2, 1])
            default: throw ReferenceFixtureError.unsupportedOutput(fixture: f.name, key: key)
            }
        }
        return out
    }

    static func runGated(_ f: ReferenceFixture) throws -> [String: Tensor] {
        let block = try wrap(f) { try OfficialLoader.gatedBlock(arguments: f.arguments(), stateDict: f.weights) }
        var out: [String: Tensor] = [:]
        for key in f.outputKeys {
            if let (input, rate) = try f.convolutionInput(for: key) {
                try checkSequenceInput(input, features: block.inputFeatures, channelAxis: 1, fixture: f)
                out[key] = Autograd.withoutGradients { block.forward(Variable(input), rate: rate).value }
            } else if key == "io.output_step" {
                out[key] = block.stepThrough(try f.tensor("io.input"))
            } else {
                throw ReferenceFixtureError.unsupportedOutput(fixture: f.name, key: key)
            }
        }
        return out
    }

    static func runFFTConv(_ f: ReferenceFixture) throws -> [String: Tensor] {
        let conv = try wrap(f) { try OfficialLoader.fftConv(arguments: f.arguments(), stateDict: f.weights) }
        var out: [String: Tensor] = [:]
        for key in f.outputKeys {
            guard let (input, rate) = try f.convolutionInput(for: key) else {
                throw ReferenceFixtureError.unsupportedOutput(fixture: f.name, key: key)
            }
            try checkSequenceInput(input, features: conv.features, channelAxis: 1, fixture: f)
            out[key] = Autograd.withoutGradients { conv(Variable(input), rate: rate).value }
        }
        return out
    }

    /// Runs `block` one step at a time from the zero state over `input`, returning outputs in the
    /// block's layout.
    static func stepThrough(_ block: S4Block, input: Tensor) throws -> Tensor {
        guard input.rank == 3 else {
            throw OfficialModuleError.invalidArguments("step input must be rank 3, got \(input.shape)")
        }
        guard block.hasStepMode else {
            throw OfficialModuleError.unsupportedArgument(key: "bidirectional", value: "true", reason: "a bidirectional block has no step mode")
        }
        let x = block.transposed ? input : input.permuted([0, 2, 1])  // (B, H, L)
        let y = block.stepThrough(x)
        return block.transposed ? y : y.permuted([0, 2, 1])
    }

    /// Inputs must be rank 3 with `features` channels on `channelAxis` and a non-empty length.
    static func checkSequenceInput(_ x: Tensor, features: Int, channelAxis: Int, fixture f: ReferenceFixture) throws {
        guard x.rank == 3, x.shape[channelAxis] == features, x.shape[0] > 0, x.shape[3 - channelAxis] > 0 else {
            throw ReferenceFixtureError.module(fixture: f.name,
                reason: "input has shape \(x.shape); expected rank 3 with \(features) features on axis \(channelAxis)")
        }
    }

    private static func wrap<T>(_ f: ReferenceFixture, _ body: () throws -> T) throws -> T {
        do { return try body() }
        catch let e as ReferenceFixtureError { throw e }
        catch { throw ReferenceFixtureError.module(fixture: f.name, reason: "\(error)") }
    }
}
