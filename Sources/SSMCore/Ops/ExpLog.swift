// Exponential and natural logarithm.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `eˣ` elementwise. Gradient: `g · eˣ` (reuses the output).
public func exp(_ x: Variable) -> Variable {
    let y = x.value.map { expf($0) }
    return Variable(y, parents: [x]) { g in [g * y] }
}

/// Natural logarithm elementwise (`x > 0`; non-positive entries give `-inf`/NaN as in IEEE).
/// Gradient: `g / x`.
public func log(_ x: Variable) -> Variable {
    let xv = x.value
    return Variable(xv.map { logf($0) }, parents: [x]) { g in [g / xv] }
}
