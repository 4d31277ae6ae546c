/// A dense, contiguous, row-major array of `Float` with a shape.
///
/// `Tensor` is a value type (copy-on-write through its `Array` storage). It carries no
/// gradient information; autograd lives in ``Variable``, which wraps a `Tensor`.
///
/// Complex convention (used throughout the package): a complex tensor of logical shape `S`
/// is stored as a real tensor of shape `S + [2]`, interleaved `(re, im)` pairs — the same layout
/// as `torch.view_as_real`, so official checkpoints load unchanged.
public struct Tensor: Equatable, Sendable {
    /// Extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// `shape.reduce(1, *)` elements in row-major order.
    public var data: [Float]

    /// A tensor over `data`, which must hold exactly `shape.product` elements.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(data.count == Tensor.count(of: shape),
                     "data has \(data.count) elements, shape \(shape) needs \(Tensor.count(of: shape))")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: Tensor.count(of: shape)))
    }

    /// A zero-filled tensor of `shape`.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A scalar (rank-0) tensor.
    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// Number of elements.
    public var count: Int { data.count }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// Elements of a tensor with this shape.
    @inlinable public static func count(of shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides for `shape`.
    public static func strides(of shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }

    /// The same elements under another shape with the same element count.
    /// One extent may be `-1`, inferred from the others.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var t = self
        t.shape = Tensor.resolve(newShape, count: count)
        return t
    }

    /// Resolves a `-1` in `shape` against `count`.
    public static func resolve(_ shape: [Int], count: Int) -> [Int] {
        var s = shape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(count) elements into \(shape)")
            s[i] = count / known
        }
        precondition(Tensor.count(of: s) == count, "cannot reshape \(count) elements into \(shape)")
        return s
    }

    /// The single element of a scalar or one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with \(count) elements")
        return data[0]
    }
}
