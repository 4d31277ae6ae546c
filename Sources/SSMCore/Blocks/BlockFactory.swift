import Foundation

/// The sequence blocks a model can be built from, one name each (`--block`): the S4 block with
/// any registry kernel, S5, Mamba, and the GSS-style gated block with any registry kernel.
public enum BlockKind: String, CaseIterable, Codable, Sendable {
    /// FFTConv (registry kernel, GELU) + Linear(H → 2H) + GLU — the official S4 block.
    case s4
    /// S5 (MIMO diagonal SSM, parallel scan, `d_state / 2` modes) + GELU + Linear(H → 2H) + GLU.
    case s5
    /// The Mamba block (selective scan; expand 2, conv width 4, `d_state` states per channel).
    case mamba
    /// The gated block (gate expansion 2) around FFTConv with the registry kernel.
    case gss

    public var summary: String {
        switch self {
        case .s4: return "S4 block: FFTConv with the --kernel kernel, GELU, Linear + GLU"
        case .s5: return "S5: one MIMO diagonal SSM over all channels (parallel scan), GELU, Linear + GLU"
        case .mamba: return "Mamba: selective SSM with input-dependent Δ, B, C (causal; both directions summed when bidirectional)"
        case .gss: return "GSS-style gated block around FFTConv with the --kernel kernel"
        }
    }

    /// Parses a name, listing the valid ones in the error.
    public init(validating name: String) throws {
        guard let k = BlockKind(rawValue: name) else {
            throw KernelOptionsError.invalid(field: "block", value: name, reason: "valid: \(BlockKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = k
    }

    /// A freshly initialised block of width `features`. `kernel` gives the kernel of `s4`/`gss`
    /// and the state size (and discretisation) of `s5`/`mamba`; `maxLength` the training length.
    public func make(features h: Int, kernel: KernelOptions, maxLength: Int?, bidirectional: Bool,
                     rng: inout SeededRNG) throws -> any SequenceLayer {
        switch self {
        case .s4, .gss:
            let k = try KernelRegistry.build(kernel, shape: KernelShape(features: h, channels: bidirectional ? 2 : 1, maxLength: maxLength), rng: &rng)
            let conv = FFTConv(kernel: k, bidirectional: bidirectional, activation: .gelu, maxKernelLength: maxLength, rng: &rng)
            if self == .gss { return GatedBlock(layer: conv, gate: 2, rng: &rng) }
            return S4Block(layer: conv, rng: &rng)
        case .s5:
            let disc: Discretization = kernel.discretization == "bilinear" ? .bilinear : .zoh
            let layer = S5Layer(features: h, modes: max(1, kernel.stateSize / 2), discretization: disc, bidirectional: bidirectional,
                                dtMin: kernel.dtMin, dtMax: kernel.dtMax, rng: &rng)
            return S4Block(layer: ActivatedLayer(layer, activation: .gelu), rng: &rng)
        case .mamba:
            func one(_ rng: inout SeededRNG) -> MambaBlock {
                MambaBlock(features: h, stateSize: kernel.stateSize, dtMin: kernel.dtMin, dtMax: kernel.dtMax, rng: &rng)
            }
            if bidirectional { return BidirectionalLayer(forward: one(&rng), backward: one(&rng)) }
            return one(&rng)
        }
    }
}

/// `forward(x) + flip(backward(flip(x)))` over the sequence axis: a bidirectional layer from two
/// causal ones (for Mamba on images), also on the channel-first layout. Parameters `forward.*`,
/// `backward.*`. No step mode.
public final class BidirectionalLayer: ChannelsFirstSequenceLayer {
    public let forwardLayer: any SequenceLayer, backwardLayer: any SequenceLayer

    public init(forward: any SequenceLayer, backward: any SequenceLayer) {
        precondition(forward.inputFeatures == backward.inputFeatures && forward.outputFeatures == backward.outputFeatures,
                     "both directions need the same widths")
        forwardLayer = forward; backwardLayer = backward
    }

    public var namedParameters: [(String, Variable)] {
        forwardLayer.namedParameters.map { ("forward." + $0.0, $0.1) } + backwardLayer.namedParameters.map { ("backward." + $0.0, $0.1) }
    }
    public var inputFeatures: Int { forwardLayer.inputFeatures }
    public var outputFeatures: Int { forwardLayer.outputFeatures }
    public var hasStepMode: Bool { false }

    public func forward(_ x: Variable, rate: Float) -> Variable {
        forwardLayer.forward(x, rate: rate) + backwardLayer.forward(x.reversedLast(), rate: rate).reversedLast()
    }

    /// Native when both directions run channel-first.
    public var runsChannelsFirst: Bool {
        [forwardLayer, backwardLayer].allSatisfy { ($0 as? any ChannelsFirstSequenceLayer)?.runsChannelsFirst == true }
    }

    /// `(H, S, L)`: the same sum with each direction channel-first (transposed to `(S, H, L)` and
    /// back for a direction that cannot).
    public func forward(channelsFirst x: Variable, rate: Float) -> Variable {
        func run(_ layer: any SequenceLayer, _ v: Variable) -> Variable {
            if let cf = layer as? any ChannelsFirstSequenceLayer, cf.runsChannelsFirst { return cf.forward(channelsFirst: v, rate: rate) }
            return layer.forward(v.permuted([1, 0, 2]), rate: rate).permuted([1, 0, 2])
        }
        return run(forwardLayer, x) + run(backwardLayer, x.reversedLast()).reversedLast()
    }

    public func defaultState(batch: Int) -> any StepState { preconditionFailure("a bidirectional layer has no step mode") }
    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        preconditionFailure("a bidirectional layer has no step mode")
    }
}

extension GatedBlock: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] { kernels(of: layer, prefix: "layer") }
}
