// Slicing, zero (or constant) padding and concatenation along one axis.

extension Tensor {
    /// Elements `range` along `axis`; other axes whole. `(…, n, …) → (…, range.count, …)`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = axisIndex(axis)
        let (outer, n, inner) = split(at: ax)
        precondition(range.lowerBound >= 0 && range.upperBound <= n, "slice: \(range) out of 0..<\(n) on axis \(axis) of \(shape)")
        let m = range.count
        var out = [Float](repeating: 0, count: outer * m * inner)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            for a in 0..<outer {
                (o.baseAddress! + a * m * inner).update(from: p.baseAddress! + (a * n + range.lowerBound) * inner, count: m * inner)
            }
        } }
        var s = shape; s[ax] = m
        return Tensor(shape: s, data: out)
    }

    /// `before` and `after` elements of `value` added on each side of `axis`.
    public func padded(axis: Int, before: Int, after: Int, value: Float = 0) -> Tensor {
        precondition(before >= 0 && after >= 0, "padded: negative padding \(before), \(after)")
        let ax = axisIndex(axis)
        let (outer, n, inner) = split(at: ax)
        let m = before + n + after
        var out = [Float](repeating: value, count: outer * m * inner)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            for a in 0..<outer {
                (o.baseAddress! + (a * m + before) * inner).update(from: p.baseAddress! + a * n * inner, count: n * inner)
            }
        } }
        var s = shape; s[ax] = m
        return Tensor(shape: s, data: out)
    }

    /// Tensors joined along `axis`; all other extents must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat: no tensors")
        let ax = parts[0].axisIndex(axis)
        let outer = parts[0].shape[..<ax].reduce(1, *), inner = parts[0].shape[(ax + 1)...].reduce(1, *)
        var total = 0
        for t in parts {
            var a = t.shape, b = parts[0].shape
            precondition(a.count == b.count, "concat: ranks differ, \(t.shape) vs \(parts[0].shape)")
            a[ax] = 0; b[ax] = 0
            precondition(a == b, "concat: shapes \(t.shape) and \(parts[0].shape) differ off axis \(axis)")
            total += t.shape[ax]
        }
        var out = [Float](repeating: 0, count: outer * total * inner)
        out.withUnsafeMutableBufferPointer { o in
            var offset = 0
            for t in parts {
                let n = t.shape[ax]
                t.data.withUnsafeBufferPointer { p in
                    for a in 0..<outer {
                        (o.baseAddress! + (a * total + offset) * inner).update(from: p.baseAddress! + a * n * inner, count: n * inner)
                    }
                }
                offset += n
            }
        }
        var s = parts[0].shape; s[ax] = total
        return Tensor(shape: s, data: out)
    }
}

extension Variable {
    /// Elements `range` along `axis`. Gradient: zero-padded back to the input's extent.
    public func slice(axis: Int, _ range: Range<Int>) -> Variable {
        let n = shape[value.axisIndex(axis)]
        return Variable(value.slice(axis: axis, range), parents: [self]) { g in
            [g.padded(axis: axis, before: range.lowerBound, after: n - range.upperBound)]
        }
    }

    /// Padding with `value` on both sides of `axis`. Gradient: the middle slice.
    public func padded(axis: Int, before: Int, after: Int, value: Float = 0) -> Variable {
        let n = shape[self.value.axisIndex(axis)]
        return Variable(self.value.padded(axis: axis, before: before, after: after, value: value), parents: [self]) { g in
            [g.slice(axis: axis, before..<(before + n))]
        }
    }
}

/// `parts` joined along `axis`. Gradient: the matching slice to each part.
public func concat(_ parts: [Variable], axis: Int) -> Variable {
    let extents = parts.map { $0.shape[$0.value.axisIndex(axis)] }
    return Variable(Tensor.concat(parts.map(\.value), axis: axis), parents: parts) { g in
        var start = 0
        return extents.enumerated().map { i, n in
            defer { start += n }
            return parts[i].requiresGrad ? g.slice(axis: axis, start..<(start + n)) : nil
        }
    }
}
