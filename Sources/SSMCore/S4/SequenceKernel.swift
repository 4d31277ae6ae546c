/// A trainable generator of 1-D convolution kernels — the pluggable part of an SSM layer.
///
/// Convolution mode: parameters → a kernel `(C, H, L)` of any requested length, at a relative
/// sampling rate (`rate = 0.5` reads the same continuous system at twice the resolution).
/// Recurrent mode (optional): parameters → a discrete state update, ``KernelRecurrence``, whose
/// impulse response is the same kernel.
///
/// A new kernel family (DPLR, DSS, EMA, …) is one type conforming to this protocol; ``FFTConv``,
/// ``S4Block`` and N-D layers (one kernel per axis) take any of them.
public protocol SequenceKernel: Layer {
    /// `H`: independent kernels, one per feature.
    var features: Int { get }
    /// `C`: kernels per feature (2 for a bidirectional layer: forward then backward halves).
    var channels: Int { get }
    /// The kernel `(C, H, length)` for sampling-rate multiplier `rate`.
    func kernel(length: Int, rate: Float) -> Variable
    /// The equivalent recurrence, or `nil` if this kernel has no step mode.
    func recurrence(rate: Float) -> (any KernelRecurrence)?
}

/// A discrete linear recurrence over a batch of `H` independent single-input SSMs with `C`
/// outputs each: `state_t = f(state_{t−1}, u_t)`, `y_t = g(state_t)`. The state of `B` sequences
/// is `B · stateCount` floats, zero at the start.
public protocol KernelRecurrence {
    var features: Int { get }
    var channels: Int { get }
    /// Floats of state per sequence.
    var stateCount: Int { get }
    /// One step without allocating: `u` `(batch, H)` → `y` `(batch, C, H)`; `state` (`batch · stateCount`
    /// floats) is advanced in place.
    func step(_ u: UnsafePointer<Float>, batch: Int, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>)
}

extension KernelRecurrence {
    /// The zero state for `batch` sequences, `[batch · stateCount]`.
    public func defaultState(batch: Int) -> Tensor { Tensor.zeros([batch * stateCount]) }

    /// One step on tensors (allocates): `u` `(B, H)` → `y` `(B, C, H)`; `state` is advanced in place.
    public func step(_ u: Tensor, state: inout Tensor) -> Tensor {
        precondition(u.rank == 2 && u.shape[1] == features, "step input must be (B, \(features)), got \(u.shape)")
        let bsz = u.shape[0]
        precondition(state.count == bsz * stateCount, "state must hold \(bsz * stateCount) floats, got \(state.count)")
        var y = Tensor.zeros([bsz, channels, features])
        u.data.withUnsafeBufferPointer { ub in state.data.withUnsafeMutableBufferPointer { sb in y.data.withUnsafeMutableBufferPointer { yb in
            step(ub.baseAddress!, batch: bsz, state: sb.baseAddress!, into: yb.baseAddress!)
        }}}
        return y
    }
}

/// A kernel whose recurrent mode is a diagonal system: parameters → discrete `(dA, dB, dC)`.
/// Conforming types get ``SequenceKernel/recurrence(rate:)`` for free.
public protocol DiagonalSequenceKernel: SequenceKernel {
    /// The discretised system at sampling-rate multiplier `rate`; its impulse response equals
    /// ``SequenceKernel/kernel(length:rate:)``.
    func discreteSystem(rate: Float) -> DiagonalSystem
}

extension DiagonalSequenceKernel {
    public func recurrence(rate: Float) -> (any KernelRecurrence)? { discreteSystem(rate: rate) }
}

/// A layer or model that owns sequence kernels, listed under their parameter-name prefixes
/// (e.g. `layers.0.layer.kernel.1`), for inspection (`ssm inspect`).
public protocol KernelHolder {
    var namedKernels: [(String, any SequenceKernel)] { get }
}

extension KernelHolder {
    /// The kernels of `child` (if it holds any) under `prefix.`.
    public func kernels(of child: Any, prefix: String) -> [(String, any SequenceKernel)] {
        (child as? KernelHolder)?.namedKernels.map { (prefix + "." + $0.0, $0.1) } ?? []
    }
}

extension FFTConv: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] { [("kernel", kernel)] }
}

extension S4Block: KernelHolder {
    public var namedKernels: [(String, any SequenceKernel)] { kernels(of: layer, prefix: "layer") }
}
