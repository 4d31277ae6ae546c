/// A position-wise linear map on the channel-first layout stored as a 1×1 convolution, the official
/// `LinearActivation(transposed=True)` of SaShiMi: `y[b, o, l] = Σ_i W[o, i, 0]·x[b, i, l] + bias[o]`.
///
/// Parameters: `weight (out, in, 1)`, `bias (out)`, initialised as PyTorch's `Conv1d` (U(±1/√in)).
public final class PointwiseLinear: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let inFeatures: Int, outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout SeededRNG) {
        let lin = Linear(inFeatures, outFeatures, bias: bias, rng: &rng)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Variable(lin.weight.value.reshaped([outFeatures, inFeatures, 1]), requiresGrad: true, name: "weight")
        self.bias = lin.bias
    }

    public var namedParameters: [(String, Variable)] {
        var p = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }

    /// `x (B, in, L…) → (B, out, L…)`.
    public func callAsFunction(_ x: Variable) -> Variable {
        linearChannels(x, weight.reshaped([outFeatures, inFeatures]), bias)
    }

    /// The map prepared for step mode.
    public func stepAffine() -> StepAffine { StepAffine(weight: weight.value, bias: bias?.value) }
}
