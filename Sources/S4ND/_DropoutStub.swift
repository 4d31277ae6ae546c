import SSMCore
func dropout(_ x: Variable, p: Float, training: Bool, rng: inout SeededRNG) -> Variable { x }
