/// A discrete diagonal SSM with complex modes stored as conjugate-pair halves:
///
///     state_t[b, h, n] = dA[h, n] · state_{t−1}[b, h, n] + dB[h, n] · u_t[b, h]
///     y_t[b, c, h]     = 2 · Re Σ_n dC[c, h, n] · state_t[b, h, n]
///
/// Shapes: `dA`, `dB` `(H, N, 2)`, `dC` `(C, H, N, 2)`; state `(B, H, N, 2)`, complex interleaved.
/// Its impulse response is the S4D kernel `K[c, h, l] = 2·Re Σ_n dC·dA^l·dB` (see ``s4dKernel``).
public struct DiagonalSystem: KernelRecurrence, Sendable {
    public let dA: Tensor, dB: Tensor, dC: Tensor

    public init(dA: Tensor, dB: Tensor, dC: Tensor) {
        precondition(dA.rank == 3 && dA.shape[2] == 2 && dB.shape == dA.shape, "dA, dB must be (H, N, 2)")
        precondition(dC.rank == 4 && Array(dC.shape.dropFirst()) == dA.shape, "dC must be (C, H, N, 2)")
        self.dA = dA; self.dB = dB; self.dC = dC
    }

    public var features: Int { dA.shape[0] }
    public var stateSize: Int { dA.shape[1] }
    public var channels: Int { dC.shape[0] }

    public func defaultState(batch: Int) -> Tensor { Tensor.zeros([batch, features, stateSize, 2]) }

    public func step(_ u: Tensor, state: inout Tensor) -> Tensor {
        let (h, n, c) = (features, stateSize, channels)
        precondition(u.rank == 2 && u.shape[1] == h, "step input must be (B, \(h)), got \(u.shape)")
        let bsz = u.shape[0]
        precondition(state.shape == [bsz, h, n, 2], "state must be [\(bsz), \(h), \(n), 2], got \(state.shape)")
        var y = Tensor.zeros([bsz, c, h])
        dA.data.withUnsafeBufferPointer { a in
        dB.data.withUnsafeBufferPointer { bb in
        dC.data.withUnsafeBufferPointer { cc in
        u.data.withUnsafeBufferPointer { ub in
        state.data.withUnsafeMutableBufferPointer { sb in
        y.data.withUnsafeMutableBufferPointer { yb in
            for b in 0..<bsz {
                for hi in 0..<h {
                    let x = ub[b * h + hi]
                    let s = sb.baseAddress! + (b * h + hi) * 2 * n
                    let ap = a.baseAddress! + hi * 2 * n, bp = bb.baseAddress! + hi * 2 * n
                    for k in 0..<n {
                        let sr = s[2 * k], si = s[2 * k + 1]
                        s[2 * k] = ap[2 * k] * sr - ap[2 * k + 1] * si + bp[2 * k] * x
                        s[2 * k + 1] = ap[2 * k] * si + ap[2 * k + 1] * sr + bp[2 * k + 1] * x
                    }
                    for ci in 0..<c {
                        let cp = cc.baseAddress! + (ci * h + hi) * 2 * n
                        var acc: Float = 0
                        for k in 0..<n { acc += cp[2 * k] * s[2 * k] - cp[2 * k + 1] * s[2 * k + 1] }
                        yb[(b * c + ci) * h + hi] = 2 * acc
                    }
                }
            }
        }}}}}}
        return y
    }
}
