// Elementwise loops specialised per operation.
//
// A pointwise function is a type conforming to `UnaryKernel` / `BinaryKernel`; the generic loops
// below are specialised for each kernel type, so the per-element call is inlined and the loop
// vectorises — unlike a closure argument, which stays an indirect call per element once the loop
// is handed to another thread. Big tensors are split over the cores (`Parallel.forEachChunk`).

/// A pointwise function `Float → Float`.
public protocol UnaryKernel { static func apply(_ x: Float) -> Float }
/// A pointwise function `(Float, Float) → Float`.
public protocol BinaryKernel { static func apply(_ a: Float, _ b: Float) -> Float }

public enum AddKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
public enum SubKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
public enum MulKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
public enum DivKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Float, _ b: Float) -> Float { a / b } }
public enum NegKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Float) -> Float { -x } }

extension Tensor {
    /// A tensor of `shape` whose storage starts uninitialised: `body` must write every element
    /// (saves the zero-filling pass of `[Float](repeating: 0, …)` for outputs that are overwritten).
    @inline(__always)
    public static func filling(_ shape: [Int], _ body: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        _ = Allocator.configure
        let n = Tensor.count(of: shape)
        let data = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 { body(buffer.baseAddress!) }
            initialized = n
        }
        return Tensor(shape: shape, data: data)
    }

    /// `K(x)` for every element.
    public static func apply<K: UnaryKernel>(_: K.Type, _ a: Tensor) -> Tensor {
        a.data.withUnsafeBufferPointer { pa in filling(a.shape) { o in
            let p = pa.baseAddress!
            Parallel.forEachChunk(a.count) { r in
                for i in r { o[i] = K.apply(p[i]) }
            }
        } }
    }

    /// `K(a, s)` for every element `a`.
    public static func apply<K: BinaryKernel>(_: K.Type, _ a: Tensor, scalar s: Float) -> Tensor {
        a.data.withUnsafeBufferPointer { pa in filling(a.shape) { o in
            let p = pa.baseAddress!
            Parallel.forEachChunk(a.count) { r in
                for i in r { o[i] = K.apply(p[i], s) }
            }
        } }
    }

    /// `K(s, a)` for every element `a`.
    public static func apply<K: BinaryKernel>(_: K.Type, scalar s: Float, _ a: Tensor) -> Tensor {
        a.data.withUnsafeBufferPointer { pa in filling(a.shape) { o in
            let p = pa.baseAddress!
            Parallel.forEachChunk(a.count) { r in
                for i in r { o[i] = K.apply(s, p[i]) }
            }
        } }
    }

    /// `K(a, b)` elementwise with NumPy broadcasting.
    public static func apply<K: BinaryKernel>(_: K.Type, _ a: Tensor, _ b: Tensor) -> Tensor {
        if a.shape == b.shape {
            return a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in filling(a.shape) { o in
                let p = pa.baseAddress!, q = pb.baseAddress!
                Parallel.forEachChunk(a.count) { r in
                    for i in r { o[i] = K.apply(p[i], q[i]) }
                }
            } } }
        }
        if b.count == 1 { return apply(K.self, a, scalar: b.data[0]).reshaped(Broadcast.shape(a.shape, b.shape)) }
        if a.count == 1 { return apply(K.self, scalar: a.data[0], b).reshaped(Broadcast.shape(a.shape, b.shape)) }
        let shape = Broadcast.shape(a.shape, b.shape)
        let sa = Broadcast.strides(of: a.shape, in: shape), sb = Broadcast.strides(of: b.shape, in: shape)
        let inner = shape.last ?? 1
        let ia = sa.last ?? 0, ib = sb.last ?? 0
        return a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in filling(shape) { o in
            guard let p = pa.baseAddress, let q = pb.baseAddress else { return }
            // Rows (the last axis) split over the cores; one of four inner-loop forms per row:
            // each operand contiguous or constant along the row.
            let rows = inner == 0 ? 0 : Tensor.count(of: shape) / inner
            Parallel.forEachChunk(rows, minimumChunk: max(1, (1 << 16) / max(inner, 1))) { range in
                Broadcast.forEachRow(shape, sa, sb, rows: range) { oo, oa, ob in
                    let x = p + oa, y = q + ob, z = o + oo
                    switch (ia, ib) {
                    case (0, 0): let v = K.apply(x[0], y[0]); for j in 0..<inner { z[j] = v }
                    case (0, _): let xs = x[0]; for j in 0..<inner { z[j] = K.apply(xs, y[j]) }
                    case (_, 0): let ys = y[0]; for j in 0..<inner { z[j] = K.apply(x[j], ys) }
                    default: for j in 0..<inner { z[j] = K.apply(x[j], y[j]) }
                    }
                }
            }
        } } }
    }
}
