// Pointwise nonlinearities: exact GELU, sigmoid, tanh, and GLU.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

@inline(__always) func sigmoidScalar(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// Exact GELU, `x · Φ(x) = ½ x (1 + erf(x / √2))` (PyTorch's default `approximate='none'`).
/// Gradient: `Φ(x) + x · φ(x)` with `φ(x) = exp(−x²/2) / √(2π)`.
public func gelu(_ x: Variable) -> Variable {
    let xv = x.value
    let y = xv.map { 0.5 * $0 * (1 + erff($0 * 0.70710678118654752)) }
    return Variable(y, parents: [x]) { g in
        [Tensor.broadcasting(g, xv) { gi, v in
            let cdf = 0.5 * (1 + erff(v * 0.70710678118654752))
            let pdf = expf(-0.5 * v * v) * 0.39894228040143268
            return gi * (cdf + v * pdf)
        }]
    }
}

/// Logistic sigmoid `σ(x) = 1 / (1 + e⁻ˣ)`. Gradient: `σ(1 − σ)`.
public func sigmoid(_ x: Variable) -> Variable {
    let y = x.value.map(sigmoidScalar)
    return Variable(y, parents: [x]) { g in [Tensor.broadcasting(g, y) { $0 * $1 * (1 - $1) }] }
}

/// Hyperbolic tangent. Gradient: `1 − tanh²`.
public func tanh(_ x: Variable) -> Variable {
    let y = x.value.map { tanhf($0) }
    return Variable(y, parents: [x]) { g in [Tensor.broadcasting(g, y) { $0 * (1 - $1 * $1) }] }
}

/// Gated linear unit along `axis` (like `torch.nn.functional.glu`): splits `x` into halves
/// `a, b` of extent `n/2` on that axis and returns `a ⊙ σ(b)`.
/// Shapes: `(…, 2m, …) → (…, m, …)`. Gradients: `∂a = g σ(b)`, `∂b = g a σ(b)(1 − σ(b))`.
public func glu(_ x: Variable, axis: Int = -1) -> Variable {
    let xv = x.value
    let ax = xv.axisIndex(axis)
    let (outer, n, inner) = xv.split(at: ax)
    precondition(n % 2 == 0, "glu: axis \(axis) of shape \(xv.shape) has odd extent")
    let m = n / 2, half = m * inner
    var outShape = xv.shape; outShape[ax] = m
    var y = [Float](repeating: 0, count: outer * half)
    xv.data.withUnsafeBufferPointer { p in y.withUnsafeMutableBufferPointer { o in
        for a in 0..<outer {
            let src = a * n * inner, dst = a * half
            for j in 0..<half { o[dst + j] = p[src + j] * sigmoidScalar(p[src + half + j]) }
        }
    } }
    return Variable(Tensor(shape: outShape, data: y), parents: [x]) { g in
        var gx = [Float](repeating: 0, count: xv.count)
        xv.data.withUnsafeBufferPointer { p in g.data.withUnsafeBufferPointer { pg in gx.withUnsafeMutableBufferPointer { o in
            for a in 0..<outer {
                let src = a * n * inner, dst = a * half
                for j in 0..<half {
                    let av = p[src + j], s = sigmoidScalar(p[src + half + j]), gi = pg[dst + j]
                    o[src + j] = gi * s
                    o[src + half + j] = gi * av * s * (1 - s)
                }
            }
        } } }
        return [Tensor(shape: xv.shape, data: gx)]
    }
}
