// Sine, cosine and softplus, for parameter transforms of the SSM kernels (complex exponentials,
// StableSSM reparameterisations).
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `sin x` elementwise. Gradient: `g · cos x`.
public func sin(_ x: Variable) -> Variable {
    let xv = x.value
    return Variable(Tensor.apply(SinKernel.self, xv), parents: [x]) { g in [g * Tensor.apply(CosKernel.self, xv)] }
}

/// `cos x` elementwise. Gradient: `−g · sin x`.
public func cos(_ x: Variable) -> Variable {
    let xv = x.value
    return Variable(Tensor.apply(CosKernel.self, xv), parents: [x]) { g in [g * Tensor.apply(SinKernel.self, xv) * -1] }
}

/// `softplus(x) = log(1 + eˣ)`, evaluated stably (`max(x, 0) + log1p(e^{−|x|})`).
/// Gradient: `g · σ(x)`.
public func softplus(_ x: Variable) -> Variable {
    let xv = x.value
    return Variable(Tensor.apply(SoftplusKernel.self, xv), parents: [x]) { g in
        [Tensor.apply(SoftplusGradKernel.self, g, xv)]
    }
}

enum SinKernel: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { sinf(x) } }
enum CosKernel: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { cosf(x) } }
enum SoftplusKernel: UnaryKernel {
    @inline(__always) static func apply(_ x: Float) -> Float { max(x, 0) + log1pf(expf(-abs(x))) }
}
/// `(g, x) ↦ g σ(x)`, with σ evaluated without overflow.
enum SoftplusGradKernel: BinaryKernel {
    @inline(__always) static func apply(_ g: Float, _ x: Float) -> Float {
        let s: Float = x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
        return g * s
    }
}

/// `max(x, floor)` elementwise. Gradient: `g` where `x > floor`, else 0.
public func clampMin(_ x: Variable, _ floor: Float) -> Variable {
    let xv = x.value
    return Variable(xv.map { max($0, floor) }, parents: [x]) { g in
        [Tensor(shape: g.shape, data: (0..<g.count).map { xv.data[$0] > floor ? g.data[$0] : 0 })]
    }
}
