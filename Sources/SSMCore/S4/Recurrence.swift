import CKernels

/// A discrete diagonal SSM with complex modes stored as conjugate-pair halves:
///
///     state_t[b, h, n] = dA[h, n] · state_{t−1}[b, h, n] + dB[h, n] · u_t[b, h]
///     y_t[b, c, h]     = 2 · Re Σ_n dC[c, h, n] · state_t[b, h, n]
///
/// Built from `dA`, `dB` `(H, N, 2)`, `dC` `(C, H, N, 2)` (complex interleaved, as the kernel op returns
/// them), kept only in step form: packed for ``ssm_step_diagonal`` in blocks of 16 features with
/// `dB` folded into `dC` (the state holds `state/dB`, laid out per block of features, every mode's
/// real and imaginary parts; ``stateCount`` floats per sequence, zero at the start).
/// Its impulse response is the S4D kernel `K[c, h, l] = 2·Re Σ_n dC·dA^l·dB` (see ``s4dKernel``).
public struct DiagonalSystem: KernelRecurrence, Sendable {
    public let features: Int, stateSize: Int, channels: Int
    /// The poles `dA`: real and imaginary planes `(N, H)`.
    let ar: [Float], ai: [Float]
    let packed: PackedCoefficients

    /// Read-only, 64-byte aligned coefficients, shared by the copies of a system.
    final class PackedCoefficients: @unchecked Sendable {
        let storage: StepBuffer
        init(_ count: Int) { storage = StepBuffer(count) }
    }

    public init(dA: Tensor, dB: Tensor, dC: Tensor) {
        precondition(dA.rank == 3 && dA.shape[2] == 2 && dB.shape == dA.shape, "dA, dB must be (H, N, 2)")
        precondition(dC.rank == 4 && Array(dC.shape.dropFirst()) == dA.shape, "dC must be (C, H, N, 2)")
        features = dA.shape[0]; stateSize = dA.shape[1]; channels = dC.shape[0]
        // (…, H, N, 2) interleaved → real and imaginary planes (…, N, H), modes outer.
        func planes(_ t: Tensor) -> ([Float], [Float]) {
            let h = t.shape[t.rank - 3], n = t.shape[t.rank - 2], outer = t.count / (2 * h * n)
            var re = [Float](repeating: 0, count: t.count / 2), im = re
            for o in 0..<outer { for hi in 0..<h { for k in 0..<n {
                let src = ((o * h + hi) * n + k) * 2, dst = (o * n + k) * h + hi
                re[dst] = t.data[src]; im[dst] = t.data[src + 1]
            }}}
            return (re, im)
        }
        (ar, ai) = planes(dA)
        let (br, bi) = planes(dB), (cr, ci) = planes(dC)
        let (h, n, c) = (features, stateSize, channels)
        packed = PackedCoefficients(ssm_step_diagonal_packed_count(h, n, c))
        ssm_step_diagonal_pack(h, n, c, ar, ai, br, bi, cr, ci, packed.storage.pointer)
    }

    public var stateCount: Int { ssm_step_diagonal_state_count(features, stateSize) }

    public func step(_ u: UnsafePointer<Float>, batch: Int, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        ssm_step_diagonal(u, batch, features, stateSize, channels, packed.storage.pointer, state, y)
    }
}
