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

/// How a parameter is optimised, marked by the layer that owns it (so trainers never parse key names).
public enum ParameterRole: String, Sendable, Codable {
    /// An ordinary weight: the base learning rate, with weight decay.
    case weight
    /// Biases, normalisation parameters and skip weights (`D`): the base learning rate, no decay.
    case noDecay = "no_decay"
    /// State-space parameters of a kernel (`inv_dt`, `A_real`, `A_imag`, `B` for S4D): their own,
    /// usually smaller, learning rate and no decay, as the official S4 optimiser setup.
    case ssm
}

extension ParameterGroup {
    /// The three groups of the S4 recipe from the parameters' roles, in this order: weights
    /// (`learningRate`, `weightDecay`), no-decay parameters (`learningRate`), SSM parameters
    /// (`ssmLearningRate`, no decay). Empty groups are kept so optimiser layouts stay fixed.
    public static func byRole(_ parameters: [(String, Variable)], learningRate: Float, ssmLearningRate: Float,
                              weightDecay: Float) -> [ParameterGroup] {
        let pick = { (r: ParameterRole) in parameters.filter { $0.1.role == r } }
        return [ParameterGroup(pick(.weight), learningRate: learningRate, weightDecay: weightDecay),
                ParameterGroup(pick(.noDecay), learningRate: learningRate, weightDecay: 0),
                ParameterGroup(pick(.ssm), learningRate: ssmLearningRate, weightDecay: 0)]
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
