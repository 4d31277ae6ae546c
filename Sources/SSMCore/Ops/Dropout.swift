// Dropout with inverted scaling and a seeded generator.

/// Dropout: in training, zeroes each element with probability `p` and scales the survivors by
/// `1 / (1 − p)`, so the expectation is unchanged; at evaluation (`training == false`) or with
/// `p == 0` it is the identity (the input node itself is returned).
///
/// `tiedFrom`: when set to an axis `k`, one mask value is drawn per index of the axes before `k`
/// and shared along axes `k…` (PyTorch-style `DropoutNd` on a `(B, C, L…)` tensor is `tiedFrom: 2`).
/// The mask is drawn from `rng` in row-major order of the mask shape. Gradient: `g ⊙ mask`.
public func dropout(_ x: Variable, p: Float, training: Bool, rng: inout SeededRNG, tiedFrom: Int? = nil) -> Variable {
    precondition(p >= 0 && p <= 1, "dropout: p = \(p) is not a probability")
    if !training || p == 0 { return x }
    var maskShape = x.shape
    if let k = tiedFrom {
        precondition(k >= 0 && k <= x.value.rank, "dropout: tiedFrom \(k) out of range for \(x.shape)")
        for i in k..<maskShape.count { maskShape[i] = 1 }
    }
    let keep: Float = p == 1 ? 0 : 1 / (1 - p)
    var m = [Float](repeating: 0, count: Tensor.count(of: maskShape))
    for i in 0..<m.count { m[i] = rng.uniform() >= p ? keep : 0 }
    let mask = Tensor(shape: maskShape, data: m)
    return Variable(x.value * mask, parents: [x]) { g in [g * mask] }
}
