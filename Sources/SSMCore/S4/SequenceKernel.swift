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
/// outputs each: `state_t = f(state_{t−1}, u_t)`, `y_t = g(state_t)`.
public protocol KernelRecurrence {
    var features: Int { get }
    var channels: Int { get }
    /// The zero state for `batch` sequences.
    func defaultState(batch: Int) -> Tensor
    /// One step: `u` `(B, H)` → `y` `(B, C, H)`; `state` is advanced in place.
    func step(_ u: Tensor, state: inout Tensor) -> Tensor
}
