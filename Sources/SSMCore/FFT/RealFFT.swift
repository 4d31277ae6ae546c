/// Real N-D FFTs over the trailing axes of a batch of planes, on cached FFTW plans.
///
/// Conventions (those of `torch.fft.rfftn` / `irfftn` with `s = size`):
/// - ``rfftn(_:size:)``: `X[f] = Σ_p x[p] · exp(-2πi Σ_k f_k p_k / P_k)` over the trailing
///   `size.count` axes, the input zero-padded (or cut) to `size`; only the non-negative
///   frequencies of the last axis are kept (`P_n/2 + 1`), complex as a trailing axis of 2.
/// - ``irfftn(_:size:)``: the inverse, normalised by `1 / (P_1 ⋯ P_n)`.
public enum FFT {
    /// `(batch…, L1…Ln)` real → `(batch…, P1, …, P(n-1), Pn/2+1, 2)` where `size = [P1…Pn]`.
    public static func rfftn(_ x: Tensor, size: [Int]) -> Tensor {
        let n = size.count
        precondition(n >= 1 && x.rank >= n, "rfftn over \(n) axes of a rank-\(x.rank) tensor")
        let lead = Array(x.shape.dropLast(n)), inShape = Array(x.shape.suffix(n))
        let planes = lead.reduce(1, *)
        let plan = FFTPlan.cached(shape: size, direction: .forward)
        let inCount = inShape.reduce(1, *), fCount = plan.complexCount
        var outShape = lead + size
        outShape[outShape.count - 1] = size[n - 1] / 2 + 1
        outShape.append(2)
        var out = Tensor.zeros(outShape)
        x.data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                parallelRanges(planes) { range in
                    let real = FFTBuffer(count: plan.realCount), spec = FFTBuffer(count: 2 * fCount)
                    for p in range {
                        real.zero()
                        copyBox(from: s + p * inCount, shape: inShape, to: real.pointer, shape: size)
                        plan.forward(real.pointer, spec.pointer)
                        (d + p * 2 * fCount).update(from: spec.pointer, count: 2 * fCount)
                    }
                }
            }
        }
        return out
    }

    /// `(batch…, P1, …, P(n-1), Pn/2+1, 2)` → `(batch…, P1…Pn)` real, normalised.
    public static func irfftn(_ X: Tensor, size: [Int]) -> Tensor {
        let n = size.count
        precondition(X.rank >= n + 1 && X.shape.last == 2, "irfftn input must end in a complex axis of 2")
        var spectral = size
        spectral[n - 1] = size[n - 1] / 2 + 1
        precondition(Array(X.shape.dropLast().suffix(n)) == spectral,
                     "irfftn: spectrum shape \(X.shape) does not match size \(size)")
        let lead = Array(X.shape.dropLast(n + 1))
        let planes = lead.reduce(1, *)
        let plan = FFTPlan.cached(shape: size, direction: .inverse)
        let fCount = plan.complexCount, rCount = plan.realCount
        let scale = 1 / Float(rCount)
        var out = Tensor.zeros(lead + size)
        X.data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                parallelRanges(planes) { range in
                    let real = FFTBuffer(count: rCount), spec = FFTBuffer(count: 2 * fCount)
                    for p in range {
                        spec.pointer.update(from: s + p * 2 * fCount, count: 2 * fCount)
                        plan.inverse(spec.pointer, real.pointer)
                        let o = d + p * rCount
                        for i in 0..<rCount { o[i] = real.pointer[i] * scale }
                    }
                }
            }
        }
        return out
    }
}

/// Copies the common box `[0, min(a_k, b_k))` of two row-major N-D arrays of shapes `a` and `b`,
/// multiplying by `scale`. Elements of `dst` outside the box are left untouched.
@inline(__always)
func copyBox(from src: UnsafePointer<Float>, shape a: [Int], to dst: UnsafeMutablePointer<Float>, shape b: [Int],
             scale: Float = 1) {
    let n = a.count
    precondition(b.count == n)
    if n == 1 {
        let m = min(a[0], b[0])
        if scale == 1 { dst.update(from: src, count: m) } else { for i in 0..<m { dst[i] = src[i] * scale } }
        return
    }
    // Row-major strides of each array and the box extents.
    var sa = [Int](repeating: 1, count: n), sb = [Int](repeating: 1, count: n)
    for k in stride(from: n - 2, through: 0, by: -1) { sa[k] = sa[k + 1] * a[k + 1]; sb[k] = sb[k + 1] * b[k + 1] }
    let box = zip(a, b).map { min($0, $1) }
    if box.contains(0) { return }
    let row = box[n - 1]
    var idx = [Int](repeating: 0, count: n - 1)
    while true {
        var oa = 0, ob = 0
        for k in 0..<(n - 1) { oa += idx[k] * sa[k]; ob += idx[k] * sb[k] }
        if scale == 1 { (dst + ob).update(from: src + oa, count: row) }
        else { for i in 0..<row { dst[ob + i] = src[oa + i] * scale } }
        // Advance the outer multi-index.
        var k = n - 2
        while k >= 0 {
            idx[k] += 1
            if idx[k] < box[k] { break }
            idx[k] = 0
            k -= 1
        }
        if k < 0 { return }
    }
}
