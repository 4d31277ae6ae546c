/// Layer normalisation with learned `weight` (ones) and `bias` (zeros) of extent `dim`,
/// over `axis` (−1: last axis; 1: channels of a channel-first `(B, C, L…)` tensor).
public final class LayerNorm: Layer {
    public let weight: Variable
    public let bias: Variable
    public let eps: Float
    public let axis: Int

    public init(_ dim: Int, eps: Float = 1e-5, axis: Int = -1) {
        weight = Variable(Tensor(repeating: 1, shape: [dim]), requiresGrad: true, name: "weight")
        bias = Variable(Tensor.zeros([dim]), requiresGrad: true, name: "bias")
        weight.role = .noDecay
        bias.role = .noDecay
        self.eps = eps
        self.axis = axis
    }

    public var namedParameters: [(String, Variable)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Variable) -> Variable { layerNorm(x, weight: weight, bias: bias, eps: eps, axis: axis) }
}
