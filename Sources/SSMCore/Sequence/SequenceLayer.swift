import CKernels

/// A layer over sequences with two equivalent modes, as every module of the official `sashimi.py`:
///
/// * convolution mode, ``forward(_:rate:)``: a whole sequence at once, `(B, inputFeatures, L)` →
///   `(B, outputFeatures, L′)`, recorded for autograd (training, scoring);
/// * recurrent mode, ``defaultState(batch:)`` and ``step(_:into:state:)``: one time step at a time
///   from a state (generation), from the same parameters, without autograd and without allocating.
///
/// `L′ = L` for most layers; pooling layers change the length (DownPool `L/p`, UpPool `L·p`) and in
/// step mode produce or consume an output only every `p` steps (`step` returns `false` and takes
/// `nil` input on the other steps).
///
/// S4 blocks (``S4Block`` around ``FFTConv``), SaShiMi's pools, feed-forward and residual blocks
/// conform; so can any later block (S5, selective SSMs, gated blocks) — a container takes
/// `any SequenceLayer`.
public protocol SequenceLayer: Layer {
    /// Features of one input time step.
    var inputFeatures: Int { get }
    /// Features of one output time step.
    var outputFeatures: Int { get }
    /// Convolution mode on the channel-first layout: `x (B, inputFeatures, L) → (B, outputFeatures, L′)`.
    /// `rate` is the sampling-rate multiplier of continuous-time kernels (1 = the training rate).
    func forward(_ x: Variable, rate: Float) -> Variable
    /// Whether ``step(_:into:state:)`` is available (a bidirectional convolution has no recurrent mode).
    var hasStepMode: Bool { get }
    /// The initial recurrent state for `batch` sequences, with every buffer the step needs. It holds
    /// a snapshot of the discretised parameters: make a new state after changing the parameters.
    func defaultState(batch: Int) -> any StepState
    /// One recurrent step: reads `x` `(B, inputFeatures)` (or `nil` where the layer takes no input
    /// this step), writes `y` `(B, outputFeatures)` and returns `true`, or returns `false` when the
    /// layer emits nothing this step (a DownPool gathering its inputs). Advances `state` in place.
    func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool
}

/// The recurrent state of one ``SequenceLayer`` for a fixed batch size: buffers allocated once and
/// advanced in place by each step.
public protocol StepState: AnyObject {
    var batch: Int { get }
}

extension SequenceLayer {
    /// Convolution mode at the training rate.
    public func forward(_ x: Variable) -> Variable { forward(x, rate: 1) }

    /// One step on tensors (allocates; for tests and tools): `x (B, inputFeatures)` or `nil` →
    /// `(B, outputFeatures)`, or `nil` when the layer emits nothing this step.
    public func step(_ x: Tensor?, state: any StepState) -> Tensor? {
        if let x { precondition(x.shape == [state.batch, inputFeatures], "step input must be [\(state.batch), \(inputFeatures)], got \(x.shape)") }
        var y = [Float](repeating: 0, count: state.batch * outputFeatures)
        let produced = y.withUnsafeMutableBufferPointer { yb in
            if let x { return x.data.withUnsafeBufferPointer { step($0.baseAddress!, into: yb.baseAddress!, state: state) } }
            return step(nil, into: yb.baseAddress!, state: state)
        }
        return produced ? Tensor(shape: [state.batch, outputFeatures], data: y) : nil
    }

    /// Runs recurrent mode over a whole sequence `x (B, inputFeatures, L)` from the default state:
    /// the step-mode counterpart of ``forward(_:rate:)`` (their outputs agree), `(B, outputFeatures, L′)`.
    /// Steps that emit nothing contribute no output column.
    public func stepThrough(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == inputFeatures, "stepThrough expects (B, \(inputFeatures), L), got \(x.shape)")
        let (b, h, l) = (x.shape[0], x.shape[1], x.shape[2])
        let state = defaultState(batch: b)
        let o = outputFeatures
        var columns: [Float] = []
        columns.reserveCapacity(b * o * l)
        var xt = [Float](repeating: 0, count: b * h), yt = [Float](repeating: 0, count: b * o)
        var produced = 0
        for t in 0..<l {
            for i in 0..<(b * h) { xt[i] = x.data[i * l + t] }
            let emitted = xt.withUnsafeBufferPointer { xb in
                yt.withUnsafeMutableBufferPointer { step(xb.baseAddress!, into: $0.baseAddress!, state: state) }
            }
            if emitted { columns += yt; produced += 1 }
        }
        // columns: (L′, B, O) → (B, O, L′)
        var y = Tensor.zeros([b, o, produced])
        for t in 0..<produced { for i in 0..<(b * o) { y.data[i * produced + t] = columns[t * b * o + i] } }
        return y
    }
}

/// Storage owned by a step state: allocated once, zero-filled, freed with its owner. Aligned to 64
/// bytes (a cache line), so that the step team's threads, which split rows at multiples of 16
/// floats, never write to the same line.
public final class StepStorage<Element: AdditiveArithmetic> {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Element>

    public init(_ count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
            .bindMemory(to: Element.self, capacity: max(count, 1))
        pointer.initialize(repeating: .zero, count: max(count, 1))
    }

    /// Storage holding a copy of `values`.
    public convenience init(copying values: [Element]) {
        self.init(values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public func zero() { pointer.update(repeating: .zero, count: count) }
}

/// Float buffers of a step state.
public typealias StepBuffer = StepStorage<Float>
/// Half-precision weights (bit patterns) of a ``StepAffine``.
public typealias StepHalfBuffer = StepStorage<UInt16>

/// How a step-mode affine map stores its weights.
public enum StepWeightPrecision: String, Sendable, CaseIterable {
    /// Float: the step computes exactly what the convolution mode computes, up to summation order.
    case f32
    /// IEEE half precision (accumulation in Float): half the bytes to stream per step, each weight
    /// rounded to 11 significant bits (relative error ≤ 2⁻¹¹).
    case f16
}

/// A position-wise affine map prepared for step mode: `y = x Wᵀ + b` with `W` packed in blocks of
/// 32 outputs (``ssm_step_affine_pack``) so that each step streams the weights once, in order, into
/// register accumulators (at batch 1 a library GEMM's call overhead would dominate).
///
/// The weights are stored as ``precision`` says: the scoped ``packing`` setting when the map was made
/// (``StepWeightPrecision/f32`` unless a caller wraps state creation in `StepAffine.$packing.withValue`),
/// falling back to Float when a weight does not fit a half (beyond ±65504 or not finite).
public struct StepAffine {
    public let inFeatures: Int, outFeatures: Int
    public let precision: StepWeightPrecision
    let packed: StepBuffer?
    let packedHalf: StepHalfBuffer?
    let bias: StepBuffer?

    /// Weight storage for maps made in this scope (task-local, so concurrent callers do not see each other's).
    @TaskLocal public static var packing: StepWeightPrecision = .f32

    /// From a weight `(out, in)` (or `(out, in, 1)`, a 1×1 convolution) and an optional bias `(out)`.
    public init(weight: Tensor, bias: Tensor?, precision wanted: StepWeightPrecision = StepAffine.packing) {
        precondition(weight.rank == 2 || (weight.rank == 3 && weight.shape[2] == 1), "affine weight must be (out, in) or (out, in, 1), got \(weight.shape)")
        let (o, i) = (weight.shape[0], weight.shape[1])
        inFeatures = i; outFeatures = o
        let block = Int(SSM_AFFINE_BLOCK)
        let count = (o + block - 1) / block * block * i
        var half: StepHalfBuffer?
        if wanted == .f16 {
            let h = StepHalfBuffer(count)
            let status = weight.data.withUnsafeBufferPointer { ssm_step_affine_pack_f16($0.baseAddress!, i, o, h.pointer) }
            if status == 0 { half = h }
        }
        if let half {
            packedHalf = half; packed = nil; precision = .f16
        } else {
            let p = StepBuffer(count)
            weight.data.withUnsafeBufferPointer { ssm_step_affine_pack($0.baseAddress!, i, o, p.pointer) }
            packed = p; packedHalf = nil; precision = .f32
        }
        if let bias { precondition(bias.shape == [o], "affine bias must be [\(o)], got \(bias.shape)") }
        self.bias = bias.map { StepBuffer(copying: $0.data) }
    }

    /// `y (B, out) = x (B, in) Wᵀ + b`, or `y += …` when `accumulate`.
    public func apply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if let packed {
            ssm_step_affine(x, batch, inFeatures, packed.pointer, bias?.pointer, outFeatures, y, accumulate ? 1 : 0)
        } else {
            ssm_step_affine_f16(x, batch, inFeatures, packedHalf!.pointer, bias?.pointer, outFeatures, y, accumulate ? 1 : 0)
        }
    }
}


/// `activation(layer(x))`: a pointwise activation after any sequence layer (e.g. GELU after an
/// S5 layer, as FFTConv applies its own), in both modes. Parameters are the layer's own, unprefixed.
public final class ActivatedLayer: SequenceLayer {
    public let layer: any SequenceLayer
    public let activation: SequenceActivation

    public init(_ layer: any SequenceLayer, activation: SequenceActivation) {
        precondition(activation != .glu, "GLU changes the width; use a block's output linear")
        self.layer = layer; self.activation = activation
    }

    public var namedParameters: [(String, Variable)] { layer.namedParameters }
    public var inputFeatures: Int { layer.inputFeatures }
    public var outputFeatures: Int { layer.outputFeatures }
    public var hasStepMode: Bool { layer.hasStepMode }

    public func forward(_ x: Variable, rate: Float) -> Variable { activation.apply(layer.forward(x, rate: rate), channelAxis: 1) }

    public func defaultState(batch: Int) -> any StepState { layer.defaultState(batch: batch) }

    public func step(_ x: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, state: any StepState) -> Bool {
        guard layer.step(x, into: y, state: state) else { return false }
        activation.applyInPlace(UnsafeMutableBufferPointer(start: y, count: state.batch * outputFeatures))
        return true
    }
}

/// The fork–join team of the step kernels (``ssm_team_set_threads``): the affine and diagonal steps
/// split their outputs over it when they are large enough. Turn it on only around a loop that owns
/// the cores — one generation run, not inside ``Parallel/forEach(_:_:)`` workers — since its threads
/// spin between kernels. Outputs are bit-identical with or without it.
public enum StepTeam {
    public static var threads: Int { Int(ssm_team_threads()) }

    /// Sets the team's size (1 = off); prefer ``with(threads:_:)``, which restores the setting.
    public static func set(threads: Int) { ssm_team_set_threads(Int32(max(1, threads))) }

    /// Runs `body` with the team at `threads` threads (1 = off), then restores the previous setting.
    public static func with<T>(threads: Int, _ body: () throws -> T) rethrows -> T {
        let saved = ssm_team_threads()
        ssm_team_set_threads(Int32(max(1, threads)))
        defer { ssm_team_set_threads(saved) }
        return try body()
    }
}

/// A sequence layer that also runs on the channel-first layout `(H, S, L)` (features, sequences,
/// time) — the layout a model that keeps features first (the S4ND classifiers) already has, so
/// no transpose to `(S, H, L)` and back is needed and per-position maps are one GEMM.
public protocol ChannelsFirstSequenceLayer: SequenceLayer {
    /// Whether ``forward(channelsFirst:rate:)`` runs natively (a container of other layers may
    /// only be able to transpose).
    var runsChannelsFirst: Bool { get }
    /// `x (inputFeatures, S, L) → (outputFeatures, S, L)`, the same values as
    /// ``SequenceLayer/forward(_:rate:)`` on `x` with its first two axes swapped.
    func forward(channelsFirst x: Variable, rate: Float) -> Variable
}
