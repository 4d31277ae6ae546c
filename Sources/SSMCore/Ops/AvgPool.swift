// N-D average pooling over the trailing axes, stride = kernel.

extension Tensor {
    /// Mean over non-overlapping windows of `k` along `axis`: `(…, L, …) → (…, ⌊L/k⌋, …)`.
    public func avgPooled(axis: Int, kernel k: Int) -> Tensor {
        let ax = axisIndex(axis)
        let (outer, L, inner) = split(at: ax)
        let Lo = L / k, scale = 1 / Float(k)
        var out = [Float](repeating: 0, count: outer * Lo * inner)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            for a in 0..<outer { for i in 0..<Lo {
                let dst = (a * Lo + i) * inner
                for j in 0..<k {
                    let src = (a * L + i * k + j) * inner
                    for t in 0..<inner { o[dst + t] += p[src + t] }
                }
                for t in 0..<inner { o[dst + t] *= scale }
            } }
        } }
        var s = shape; s[ax] = Lo
        return Tensor(shape: s, data: out)
    }

    /// Adjoint of ``avgPooled(axis:kernel:)``: each element spread as `g / k` over its window,
    /// zeros on the dropped remainder. `(…, ⌊L/k⌋, …) → (…, L, …)`.
    func avgPoolAdjoint(axis ax: Int, kernel k: Int, extent L: Int) -> Tensor {
        let (outer, Lo, inner) = split(at: ax)
        let scale = 1 / Float(k)
        var out = [Float](repeating: 0, count: outer * L * inner)
        data.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            for a in 0..<outer { for i in 0..<Lo {
                let src = (a * Lo + i) * inner
                for j in 0..<k {
                    let dst = (a * L + i * k + j) * inner
                    for t in 0..<inner { o[dst + t] = p[src + t] * scale }
                }
            } }
        } }
        var s = shape; s[ax] = L
        return Tensor(shape: s, data: out)
    }
}

/// Average pooling over the trailing `kernel.count` axes of `x (B, C, L₁, …, Lₙ)` with windows
/// `kernel = [k₁, …, kₙ]` and stride equal to the window (`torch.nn.AvgPoolNd(k)` defaults):
/// `y[…, i₁, …, iₙ] = mean of x over the window starting at (i₁k₁, …, iₙkₙ)`.
/// Output extents are `⌊Lᵢ / kᵢ⌋` (a remainder is dropped, as in PyTorch).
///
/// The window mean is separable, so it runs as one 1-D pass per axis (each a contiguous loop);
/// the gradient is the adjoint passes in reverse order (`g / Πk` spread over each window).
public func avgPool(_ x: Variable, kernel: [Int]) -> Variable {
    let xv = x.value
    let n = kernel.count, r = xv.rank
    precondition(n >= 1 && n <= r && kernel.allSatisfy { $0 >= 1 }, "avgPool: kernel \(kernel) invalid for shape \(xv.shape)")
    let axes = Array((r - n)..<r)
    var y = xv
    for (ax, k) in zip(axes, kernel) where k > 1 { y = y.avgPooled(axis: ax, kernel: k) }
    let inShape = xv.shape
    return Variable(y, parents: [x]) { g in
        var gx = g
        for (ax, k) in zip(axes, kernel).reversed() where k > 1 {
            gx = gx.avgPoolAdjoint(axis: ax, kernel: k, extent: inShape[ax])
        }
        return [gx]
    }
}
