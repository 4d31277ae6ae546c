/// A set of named parameters sharing optimiser settings (as PyTorch's `param_groups`).
///
/// The S4 models put the SSM parameters (`inv_dt`, `A_real`, `A_imag`, `B`) in their own group
/// with a smaller learning rate and no weight decay; everything else goes in a default group.
public struct ParameterGroup {
    /// `(checkpoint key, parameter)` pairs; keys name the optimiser state of each parameter.
    public var parameters: [(String, Variable)]
    /// Base learning rate (a schedule multiplies it).
    public var learningRate: Float
    /// Decoupled weight decay (AdamW) or L2 penalty (SGD).
    public var weightDecay: Float

    public init(_ parameters: [(String, Variable)], learningRate: Float, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}

/// Errors from restoring optimiser state.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    case missingKey(String)
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    case duplicateName(String)

    public var description: String {
        switch self {
        case .missingKey(let k): return "optimiser state: missing '\(k)'"
        case let .shapeMismatch(k, e, f): return "optimiser state: '\(k)' has shape \(f), expected \(e)"
        case .duplicateName(let k): return "optimiser: parameter name '\(k)' appears twice"
        }
    }
}
