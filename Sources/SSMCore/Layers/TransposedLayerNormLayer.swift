/// Layer normalisation over the channel axis 1 of a channel-first `(B, D, L…)` tensor, as the
/// official S4 `TransposedLN`, which the "transposed" (channel-first) models use for `norm: layer`.
///
/// * `scalar: true` (the reference default): parameters `m` (zeros, shape `[1]`) and `s` (ones,
///   shape `[1]`); `y = (s/σ)(x − μ + m)` with the biased σ and no eps (``scalarLayerNorm``).
/// * `scalar: false`: an ordinary LayerNorm over the channels with eps 1e-5, parameters
///   `ln.weight`, `ln.bias` (``layerNorm`` with `axis: 1`).
public final class TransposedLayerNorm: Layer {
    public let scalar: Bool
    public let m: Variable?, s: Variable?
    public let ln: LayerNorm?

    public init(_ dim: Int, scalar: Bool = true) {
        self.scalar = scalar
        if scalar {
            m = Variable(Tensor.zeros([1]), requiresGrad: true, name: "m")
            s = Variable(Tensor.ones([1]), requiresGrad: true, name: "s")
            m!.role = .noDecay
            s!.role = .noDecay
            ln = nil
        } else {
            m = nil; s = nil
            ln = LayerNorm(dim, axis: 1)
        }
    }

    public var namedParameters: [(String, Variable)] {
        if let m, let s { return [("m", m), ("s", s)] }
        return ln!.namedParameters.map { ("ln." + $0.0, $0.1) }
    }

    /// `(B, D, L…) → (B, D, L…)`.
    public func callAsFunction(_ x: Variable) -> Variable {
        if let m, let s { return scalarLayerNorm(x, shift: m, scale: s, axis: 1) }
        return ln!(x)
    }
}
