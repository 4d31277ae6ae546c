// Pointwise nonlinearities: exact GELU, sigmoid, tanh, and GLU.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

@inline(__always) func sigmoidScalar(_ x: Float) -> Float { fastSigmoid(x) }

/// Exact GELU, `x · Φ(x) = ½ x (1 + erf(x / √2))` (PyTorch's default `approximate='none'`, not
/// the tanh form), with `Φ` evaluated by ``normalCDFAndPDF(_:)`` (absolute error < 2·10⁻⁷).
/// Gradient: `Φ(x) + x · φ(x)` with `φ(x) = exp(−x²/2) / √(2π)`.
public func gelu(_ x: Variable) -> Variable {
    let xv = x.value
    let y = Tensor.apply(GeluKernel.self, xv)
    return Variable(y, parents: [x]) { g in [Tensor.apply(GeluGradKernel.self, g, xv)] }
}

/// `x Φ(x)`.
enum GeluKernel: UnaryKernel {
    @inline(__always) static func apply(_ x: Float) -> Float { x * normalCDFAndPDF(x).cdf }
}
/// `(g, x) ↦ g (Φ(x) + x φ(x))`.
enum GeluGradKernel: BinaryKernel {
    @inline(__always) static func apply(_ g: Float, _ x: Float) -> Float {
        let (cdf, pdf) = normalCDFAndPDF(x)
        return g * (cdf + x * pdf)
    }
}

/// Logistic sigmoid `σ(x) = 1 / (1 + e⁻ˣ)` (through ``fastExp(_:)``). Gradient: `σ(1 − σ)`.
public func sigmoid(_ x: Variable) -> Variable {
    let y = Tensor.apply(SigmoidKernel.self, x.value)
    return Variable(y, parents: [x]) { g in [Tensor.apply(SigmoidGradKernel.self, g, y)] }
}

enum SigmoidKernel: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { fastSigmoid(x) } }
/// `(g, σ) ↦ g σ (1 − σ)`.
enum SigmoidGradKernel: BinaryKernel { @inline(__always) static func apply(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) } }

/// Hyperbolic tangent. Gradient: `1 − tanh²`.
public func tanh(_ x: Variable) -> Variable {
    let y = Tensor.apply(TanhKernel.self, x.value)
    return Variable(y, parents: [x]) { g in [Tensor.apply(TanhGradKernel.self, g, y)] }
}

enum TanhKernel: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { tanhf(x) } }
/// `(g, t) ↦ g (1 − t²)`.
enum TanhGradKernel: BinaryKernel { @inline(__always) static func apply(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) } }

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
    var y = [Float](unsafeUninitializedCapacity: outer * half) { _, n in n = outer * half }   // every element written below
    // Rows of the outer axes split over the cores when the tensor is big.
    let rowsPerChunk = max(1, (1 << 16) / max(half, 1))
    xv.data.withUnsafeBufferPointer { p in y.withUnsafeMutableBufferPointer { o in
        guard let p = p.baseAddress, let o = o.baseAddress else { return }
        Parallel.forEachChunk(outer, minimumChunk: rowsPerChunk) { rows in
            for a in rows {
                let src = a * n * inner, dst = a * half
                for j in 0..<half { o[dst + j] = p[src + j] * sigmoidScalar(p[src + half + j]) }
            }
        }
    } }
    return Variable(Tensor(shape: outShape, data: y), parents: [x]) { g in
        var gx = [Float](repeating: 0, count: xv.count)
        xv.data.withUnsafeBufferPointer { p in g.data.withUnsafeBufferPointer { pg in gx.withUnsafeMutableBufferPointer { o in
            guard let p = p.baseAddress, let pg = pg.baseAddress, let o = o.baseAddress else { return }
            Parallel.forEachChunk(outer, minimumChunk: rowsPerChunk) { rows in
                for a in rows {
                    let src = a * n * inner, dst = a * half
                    for j in 0..<half {
                        let av = p[src + j], s = sigmoidScalar(p[src + half + j]), gi = pg[dst + j]
                        o[src + j] = gi * s
                        o[src + half + j] = gi * av * s * (1 - s)
                    }
                }
            }
        } } }
        return [Tensor(shape: xv.shape, data: gx)]
    }
}
