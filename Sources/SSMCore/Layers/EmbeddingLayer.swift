/// A lookup table of `num` vectors of size `dim` (PyTorch `nn.Embedding`).
///
/// Parameter: `weight (num, dim)`, initialised N(0, 1) from `rng` (PyTorch's default).
public final class Embedding: Layer {
    public let weight: Variable

    public init(_ num: Int, _ dim: Int, rng: inout SeededRNG) {
        let w = (0..<(num * dim)).map { _ in rng.normal() }
        weight = Variable(Tensor(shape: [num, dim], data: w), requiresGrad: true, name: "weight")
    }

    public var namedParameters: [(String, Variable)] { [("weight", weight)] }

    /// `indices` laid out as `shape` → `shape + [dim]`. Throws ``OpError`` on a bad index.
    public func callAsFunction(_ indices: [Int], shape: [Int]) throws -> Variable {
        try embedding(indices, shape: shape, weight: weight)
    }
}
