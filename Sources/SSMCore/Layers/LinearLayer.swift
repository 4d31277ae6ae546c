/// A fully connected layer, `y = x Wᵀ + b` on the last axis (PyTorch `nn.Linear`).
///
/// Parameters: `weight (out, in)`, `bias (out)`. Initialisation as PyTorch's default:
/// weight ~ U(−1/√in, 1/√in) (Kaiming-uniform with a = √5), bias ~ U(−1/√in, 1/√in),
/// drawn from `rng` in that order (weight row-major, then bias).
public final class Linear: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let inFeatures: Int, outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout SeededRNG) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = inFeatures > 0 ? 1 / Float(inFeatures).squareRoot() : 0
        let w = (0..<(outFeatures * inFeatures)).map { _ in rng.uniform(-bound, bound) }
        self.weight = Variable(Tensor(shape: [outFeatures, inFeatures], data: w), requiresGrad: true, name: "weight")
        if bias {
            let b = (0..<outFeatures).map { _ in rng.uniform(-bound, bound) }
            self.bias = Variable(Tensor(shape: [outFeatures], data: b), requiresGrad: true, name: "bias")
            self.bias!.role = .noDecay
        } else {
            self.bias = nil
        }
    }

    public var namedParameters: [(String, Variable)] {
        var p = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }

    /// `x (…, in) → (…, out)`.
    public func callAsFunction(_ x: Variable) -> Variable { linear(x, weight, bias) }

    /// Channel-first form: `x (B, in, L…) → (B, out, L…)` (see ``linearChannels(_:_:_:)``).
    public func channels(_ x: Variable) -> Variable { linearChannels(x, weight, bias) }
}
