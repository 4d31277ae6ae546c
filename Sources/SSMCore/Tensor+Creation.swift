extension Tensor {
    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// Entries drawn uniformly from `[lo, hi)`, row-major, from `rng`.
    public static func uniform(_ shape: [Int], _ lo: Float, _ hi: Float, rng: inout SeededRNG) -> Tensor {
        var d = [Float](repeating: 0, count: Tensor.count(of: shape))
        for i in 0..<d.count { d[i] = rng.uniform(lo, hi) }
        return Tensor(shape: shape, data: d)
    }

    /// Entries drawn from `N(mean, std²)`, row-major, from `rng`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout SeededRNG) -> Tensor {
        var d = [Float](repeating: 0, count: Tensor.count(of: shape))
        for i in 0..<d.count { d[i] = mean + std * rng.normal() }
        return Tensor(shape: shape, data: d)
    }

    /// `0, 1, …, n − 1` as floats, shape `[n]`.
    public static func arange(_ n: Int) -> Tensor { Tensor(shape: [n], data: (0..<n).map(Float.init)) }
}

extension Tensor {
    /// Storage for `count` floats with unspecified contents, for outputs whose every element is
    /// written before it is read (no zero fill: a pass over memory saved).
    @inlinable
    public static func uninitialized(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    }
}
