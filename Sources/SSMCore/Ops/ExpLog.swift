// Exponential and natural logarithm.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `eˣ` elementwise. Gradient: `g · eˣ` (reuses the output).
public func exp(_ x: Variable) -> Variable {
    let y = Tensor.apply(ExpKernel.self, x.value)
    return Variable(y, parents: [x]) { g in [g * y] }
}

/// Natural logarithm elementwise (`x > 0`; non-positive entries give `-inf`/NaN as in IEEE).
/// Gradient: `g / x`.
public func log(_ x: Variable) -> Variable {
    let xv = x.value
    return Variable(Tensor.apply(LogKernel.self, xv), parents: [x]) { g in [g / xv] }
}

enum ExpKernel: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { expf(x) } }
enum LogKernel: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { logf(x) } }
