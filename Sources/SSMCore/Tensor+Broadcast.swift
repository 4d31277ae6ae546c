/// NumPy-style broadcasting for tensors.
///
/// Shapes are aligned at their trailing axes; an axis of extent 1 (or a missing leading axis)
/// stretches to the other operand's extent. `(B, C, L)` with `(C, 1)` gives `(B, C, L)`.
public enum Broadcast {
    /// The broadcast shape of `a` and `b`, or a precondition failure naming both shapes.
    public static func shape(_ a: [Int], _ b: [Int]) -> [Int] {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Strides of a tensor of `shape` read as if it had `outShape` (0 on stretched axes).
    public static func strides(of shape: [Int], in outShape: [Int]) -> [Int] {
        let own = Tensor.strides(of: shape)
        let r = outShape.count, off = r - shape.count
        var s = [Int](repeating: 0, count: r)
        for i in 0..<shape.count where shape[i] != 1 { s[i + off] = own[i] }
        return s
    }

    /// Walks `outShape` row by row (a row = the last axis) and calls
    /// `body(outOffset, aOffset, bOffset)` with the starting offsets of each row in the output
    /// and in two broadcast operands with strides `sa`, `sb`. `rows` limits the walk to a range
    /// of row numbers (for splitting the work); by default every row.
    @inline(__always)
    static func forEachRow(_ outShape: [Int], _ sa: [Int], _ sb: [Int], rows: Range<Int>? = nil,
                           _ body: (Int, Int, Int) -> Void) {
        let r = outShape.count
        if r == 0 { body(0, 0, 0); return }
        let inner = outShape[r - 1]
        let total = inner == 0 ? 0 : Tensor.count(of: outShape) / inner
        let range = rows ?? 0..<total
        if range.isEmpty { return }
        // Decode the first row number into the index of axes 0..<r-1 and the operand offsets.
        var idx = [Int](repeating: 0, count: r)
        var oa = 0, ob = 0
        var rem = range.lowerBound
        for ax in stride(from: r - 2, through: 0, by: -1) {
            idx[ax] = rem % outShape[ax]; rem /= outShape[ax]
            oa += idx[ax] * sa[ax]; ob += idx[ax] * sb[ax]
        }
        for row in range {
            body(row * inner, oa, ob)
            // Odometer over axes 0..<r-1.
            var ax = r - 2
            while ax >= 0 {
                idx[ax] += 1; oa += sa[ax]; ob += sb[ax]
                if idx[ax] < outShape[ax] { break }
                oa -= sa[ax] * idx[ax]; ob -= sb[ax] * idx[ax]; idx[ax] = 0
                ax -= 1
            }
        }
    }
}

extension Tensor {
    /// Elementwise `f(a, b)` with broadcasting (`f` must be pure: big same-shape inputs are split
    /// over the cores). A convenience: the operators use kernel types (``apply(_:_:_:)``), which vectorise.
    @inline(__always)
    public static func broadcasting(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        if a.shape == b.shape {
            var out = [Float](repeating: 0, count: a.count)
            a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    let pa = pa.baseAddress, pb = pb.baseAddress, po = po.baseAddress
                    Parallel.forEachChunk(a.count) { r in
                        for i in r { po![i] = f(pa![i], pb![i]) }
                    }
                }
            } }
            return Tensor(shape: a.shape, data: out)
        }
        let shape = Broadcast.shape(a.shape, b.shape)
        let sa = Broadcast.strides(of: a.shape, in: shape), sb = Broadcast.strides(of: b.shape, in: shape)
        var out = [Float](repeating: 0, count: Tensor.count(of: shape))
        let inner = shape.last ?? 1
        let ia = sa.last ?? 0, ib = sb.last ?? 0
        a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { po in
                Broadcast.forEachRow(shape, sa, sb) { o, oa, ob in
                    for j in 0..<inner { po[o + j] = f(pa[oa + j * ia], pb[ob + j * ib]) }
                }
            }
        } }
        return Tensor(shape: shape, data: out)
    }

    /// Sums this tensor down to `target`, a shape that broadcasts to `self.shape` — the adjoint of
    /// broadcasting (used to reduce gradients back to an operand's shape).
    public func reduced(toBroadcastShape target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(Broadcast.shape(target, shape) == shape, "cannot reduce \(shape) to \(target)")
        let st = Broadcast.strides(of: target, in: shape)
        var out = [Float](repeating: 0, count: Tensor.count(of: target))
        let inner = shape.last ?? 1, it = st.last ?? 0
        data.withUnsafeBufferPointer { pg in out.withUnsafeMutableBufferPointer { po in
            Broadcast.forEachRow(shape, st, st) { o, ot, _ in
                if it == 0 {
                    // Four independent partial sums (a single running sum is latency-bound).
                    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                    var j = 0
                    while j + 4 <= inner {
                        s0 += pg[o + j]; s1 += pg[o + j + 1]; s2 += pg[o + j + 2]; s3 += pg[o + j + 3]
                        j += 4
                    }
                    while j < inner { s0 += pg[o + j]; j += 1 }
                    po[ot] += (s0 + s1) + (s2 + s3)
                } else {
                    for j in 0..<inner { po[ot + j] += pg[o + j] }
                }
            }
        } }
        return Tensor(shape: target, data: out)
    }

    /// `f` applied to every element (split over the cores for big tensors; `f` must be pure).
    /// A convenience: hot paths use ``apply(_:_:)`` with a kernel type, which vectorises.
    @inline(__always)
    public func map(_ f: (Float) -> Float) -> Tensor {
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            let p = p.baseAddress, o = o.baseAddress
            Parallel.forEachChunk(count) { r in
                for i in r { o![i] = f(p![i]) }
            }
        } }
        return Tensor(shape: shape, data: out)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { apply(AddKernel.self, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { apply(SubKernel.self, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { apply(MulKernel.self, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { apply(DivKernel.self, a, b) }
    public static func + (a: Tensor, s: Float) -> Tensor { apply(AddKernel.self, a, scalar: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { apply(SubKernel.self, a, scalar: s) }
    public static func * (a: Tensor, s: Float) -> Tensor { apply(MulKernel.self, a, scalar: s) }
    public static func / (a: Tensor, s: Float) -> Tensor { apply(MulKernel.self, a, scalar: 1 / s) }
    public static func * (s: Float, a: Tensor) -> Tensor { apply(MulKernel.self, a, scalar: s) }
    public static prefix func - (a: Tensor) -> Tensor { apply(NegKernel.self, a) }

    /// `self += other` elementwise (same shape), in place.
    public mutating func add(_ other: Tensor, scaledBy s: Float = 1) {
        precondition(shape == other.shape, "add: shape \(other.shape) != \(shape)")
        data.withUnsafeMutableBufferPointer { a in other.data.withUnsafeBufferPointer { b in
            for i in 0..<a.count { a[i] += s * b[i] }
        } }
    }

    /// Sum of all elements (accumulated in Double).
    public func sum() -> Float {
        data.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s += Double(v) }
            return Float(s)
        }
    }
}
