/// Scales all gradients together so their global L2 norm is at most `maxNorm`
/// (PyTorch `clip_grad_norm_`): with `N = √(Σ‖gᵢ‖²)`, each gradient is multiplied by
/// `min(1, maxNorm / (N + 1e-6))`. Parameters without a gradient are ignored.
/// Returns `N`, the norm before clipping (accumulated in Double).
@discardableResult
public func clipGradientNorm(_ parameters: [Variable], maxNorm: Float) -> Float {
    var total = 0.0
    for p in parameters {
        guard let g = p.grad else { continue }
        g.data.withUnsafeBufferPointer { b in for x in b { total += Double(x) * Double(x) } }
    }
    let norm = Float(total.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        for p in parameters where p.grad != nil {
            p.grad!.data.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] *= coef } }
        }
    }
    return norm
}
