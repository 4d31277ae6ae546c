/// A complex tensor in the autograd graph as two real planes, `re` and `im`, of the same shape.
///
/// The SSM kernels keep complex parameters as a trailing axis of 2 (`(…, 2)`, the official
/// layout); ``init(interleaved:)`` splits such a parameter into planes and ``interleaved`` joins
/// them back. Arithmetic is built from the real ops, so every gradient follows from theirs (the
/// real-pair convention: the gradient of a real loss w.r.t. `z` is `∂/∂re + i·∂/∂im`). Shapes
/// broadcast as for real tensors. Heavy sums over long axes have fused ops of their own
/// (``vandermondeKernel(weights:logBase:length:)``).
public struct ComplexVariable {
    public var re: Variable
    public var im: Variable

    public init(re: Variable, im: Variable) {
        precondition(re.shape == im.shape, "complex planes differ in shape: \(re.shape) vs \(im.shape)")
        self.re = re; self.im = im
    }

    /// A real tensor as a complex one with zero imaginary part.
    public init(real: Variable) {
        self.init(re: real, im: Variable.constant(Tensor.zeros(real.shape)))
    }

    /// Splits `(…, 2)` into planes `(…)`.
    public init(interleaved v: Variable) {
        precondition(v.shape.last == 2, "interleaved complex tensor must end in an axis of 2, got \(v.shape)")
        let shape = Array(v.shape.dropLast())
        self.init(re: v.slice(axis: -1, 0..<1).reshaped(shape), im: v.slice(axis: -1, 1..<2).reshaped(shape))
    }

    public var shape: [Int] { re.shape }

    /// `(…, 2)`.
    public var interleaved: Variable {
        concat([re.reshaped(shape + [1]), im.reshaped(shape + [1])], axis: -1)
    }

    public var conjugate: ComplexVariable { ComplexVariable(re: re, im: im * -1) }

    public func reshaped(_ s: [Int]) -> ComplexVariable { ComplexVariable(re: re.reshaped(s), im: im.reshaped(s)) }

    /// `|z|²`.
    public var squaredMagnitude: Variable { re * re + im * im }

    /// `exp(z) = e^re (cos im + i sin im)`.
    public var exp: ComplexVariable {
        let m = SSMCore.exp(re)
        return ComplexVariable(re: m * cos(im), im: m * sin(im))
    }

    /// `1 / z`.
    public var reciprocal: ComplexVariable {
        let d = squaredMagnitude
        return ComplexVariable(re: re / d, im: im * -1 / d)
    }

    public static func + (a: ComplexVariable, b: ComplexVariable) -> ComplexVariable {
        ComplexVariable(re: a.re + b.re, im: a.im + b.im)
    }
    public static func - (a: ComplexVariable, b: ComplexVariable) -> ComplexVariable {
        ComplexVariable(re: a.re - b.re, im: a.im - b.im)
    }
    public static func * (a: ComplexVariable, b: ComplexVariable) -> ComplexVariable {
        ComplexVariable(re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re)
    }
    public static func / (a: ComplexVariable, b: ComplexVariable) -> ComplexVariable {
        let d = b.squaredMagnitude
        return ComplexVariable(re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d)
    }
    /// Scaling by a real tensor (broadcast).
    public static func * (a: ComplexVariable, s: Variable) -> ComplexVariable {
        ComplexVariable(re: a.re * s, im: a.im * s)
    }
    public static func * (a: ComplexVariable, s: Float) -> ComplexVariable {
        ComplexVariable(re: a.re * s, im: a.im * s)
    }
    /// `a + s` for a real scalar `s`.
    public static func + (a: ComplexVariable, s: Float) -> ComplexVariable {
        ComplexVariable(re: a.re + s, im: a.im)
    }
    /// `s − a` for a real scalar `s`.
    public static func - (s: Float, a: ComplexVariable) -> ComplexVariable {
        ComplexVariable(re: s - a.re, im: a.im * -1)
    }
}
