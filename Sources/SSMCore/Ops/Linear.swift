// Matrix products through cblas_sgemm: batched matmul, linear (feature-last) and
// linearChannels (channel-first, the "transposed" layout of the S4 models).

extension Tensor {
    /// Batched matrix product `a · b`: `(…, m, k) × (…, k, n) → (…, m, n)` with identical leading
    /// axes, or `b` of rank 2 `(k, n)` shared by every batch element. One sgemm per batch
    /// element (one in total when `b` is shared).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: ranks \(a.rank), \(b.rank) < 2")
        let ar = a.shape[a.rank - 2], ac = a.shape[a.rank - 1]
        let br = b.shape[b.rank - 2], bc = b.shape[b.rank - 1]
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == k2, "matmul: inner extents differ, \(a.shape) × \(b.shape)")
        let batchA = Array(a.shape.dropLast(2))
        let batch = batchA.reduce(1, *)
        let shared = b.rank == 2
        precondition(shared || Array(b.shape.dropLast(2)) == batchA, "matmul: batch axes differ, \(a.shape) × \(b.shape)")
        var out = [Float](repeating: 0, count: batch * m * n)
        a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { po in
            if shared && !transposeA {
                // Fold the batch into the rows: (batch·m, k) × (k, n).
                BLAS.sgemm(transB: transposeB, m: batch * m, n: n, k: k, a: pa.baseAddress!, lda: ac,
                           b: pb.baseAddress!, ldb: bc, c: po.baseAddress!, ldc: n)
            } else {
                for i in 0..<batch {
                    BLAS.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                               a: pa.baseAddress! + i * m * k, lda: ac,
                               b: pb.baseAddress! + (shared ? 0 : i * k * n), ldb: bc,
                               c: po.baseAddress! + i * m * n, ldc: n)
                }
            }
        } } }
        return Tensor(shape: batchA + [m, n], data: out)
    }
}

/// Batched matrix product `(…, m, k) × (…, k, n) → (…, m, n)`; `b` may be a shared `(k, n)`.
/// Gradients: `∂a = g · bᵀ`, `∂b = aᵀ · g` (summed over the batch when `b` is shared).
public func matmul(_ a: Variable, _ b: Variable) -> Variable {
    let av = a.value, bv = b.value
    return Variable(Tensor.matmul(av, bv), parents: [a, b]) { g in
        let ga = a.requiresGrad ? Tensor.matmul(g, bv, transposeB: true) : nil
        var gb: Tensor? = nil
        if b.requiresGrad {
            if bv.rank == 2 {
                // Σ_batch aᵢᵀ gᵢ = (batch·m, k)ᵀ × (batch·m, n)
                let k = av.shape[av.rank - 1], n = g.shape[g.rank - 1]
                gb = Tensor.matmul(av.reshaped([-1, k]), g.reshaped([-1, n]), transposeA: true)
            } else {
                gb = Tensor.matmul(av, g, transposeA: true)
            }
        }
        return [ga, gb]
    }
}

/// Affine map on the last axis, PyTorch `nn.Linear` semantics: `y = x Wᵀ + bias`.
///
/// Shapes: `x (…, in)`, `weight (out, in)`, `bias (out)` → `(…, out)`. One sgemm forward, two
/// backward: `∂x = g W`, `∂W = gᵀ x` over all rows, `∂bias = Σ_rows g`.
public func linear(_ x: Variable, _ weight: Variable, _ bias: Variable? = nil) -> Variable {
    let xv = x.value, wv = weight.value
    precondition(wv.rank == 2 && xv.rank >= 1 && xv.shape.last == wv.shape[1],
                 "linear: x \(xv.shape) does not match weight \(wv.shape)")
    let outF = wv.shape[0], inF = wv.shape[1], rows = xv.count / max(inF, 1)
    if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) != [\(outF)]") }
    var y = [Float](repeating: 0, count: rows * outF)
    xv.data.withUnsafeBufferPointer { px in wv.data.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
        if let bias {
            bias.value.data.withUnsafeBufferPointer { pb in
                for r in 0..<rows { for o in 0..<outF { py[r * outF + o] = pb[o] } }
            }
        }
        // (rows, in) × (out, in)ᵀ → (rows, out)
        BLAS.sgemm(transB: true, m: rows, n: outF, k: inF, a: px.baseAddress!, lda: inF,
                   b: pw.baseAddress!, ldb: inF, beta: bias == nil ? 0 : 1, c: py.baseAddress!, ldc: outF)
    } } }
    let outShape = Array(xv.shape.dropLast()) + [outF]
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(Tensor(shape: outShape, data: y), parents: parents) { g in
        var grads: [Tensor?] = []
        g.data.withUnsafeBufferPointer { pg in
            if x.requiresGrad {
                var gx = [Float](repeating: 0, count: xv.count)
                wv.data.withUnsafeBufferPointer { pw in gx.withUnsafeMutableBufferPointer { o in
                    // (rows, out) × (out, in) → (rows, in)
                    BLAS.sgemm(m: rows, n: inF, k: outF, a: pg.baseAddress!, lda: outF, b: pw.baseAddress!, ldb: inF,
                               c: o.baseAddress!, ldc: inF)
                } }
                grads.append(Tensor(shape: xv.shape, data: gx))
            } else { grads.append(nil) }
            if weight.requiresGrad {
                var gw = [Float](repeating: 0, count: outF * inF)
                xv.data.withUnsafeBufferPointer { px in gw.withUnsafeMutableBufferPointer { o in
                    // (rows, out)ᵀ × (rows, in) → (out, in)
                    BLAS.sgemm(transA: true, m: outF, n: inF, k: rows, a: pg.baseAddress!, lda: outF,
                               b: px.baseAddress!, ldb: inF, c: o.baseAddress!, ldc: inF)
                } }
                grads.append(Tensor(shape: [outF, inF], data: gw))
            } else { grads.append(nil) }
            if let bias {
                if bias.requiresGrad {
                    var gb = [Double](repeating: 0, count: outF)
                    for r in 0..<rows { for o in 0..<outF { gb[o] += Double(pg[r * outF + o]) } }
                    grads.append(Tensor(shape: [outF], data: gb.map(Float.init)))
                } else { grads.append(nil) }
            }
        }
        return grads
    }
}

/// Channel-first affine map (the S4 models' "transposed" layout, a 1×1 convolution):
/// `y[b, o, l] = Σ_c W[o, c] · x[b, c, l] + bias[o]`.
///
/// Shapes: `x (B, Cin, L…)`, `weight (Cout, Cin)`, `bias (Cout)` → `(B, Cout, L…)`; the trailing
/// axes are flattened to one `L`. One sgemm `(Cout, Cin) × (Cin, L)` per batch element, spread
/// over the cores with ``Parallel/forEach(_:_:)``. Backward: `∂x_b = Wᵀ g_b`, `∂W = Σ_b g_b x_bᵀ`,
/// `∂bias[o] = Σ_{b,l} g[b, o, l]`.
public func linearChannels(_ x: Variable, _ weight: Variable, _ bias: Variable? = nil) -> Variable {
    let xv = x.value, wv = weight.value
    precondition(wv.rank == 2 && xv.rank >= 2 && xv.shape[1] == wv.shape[1],
                 "linearChannels: x \(xv.shape) does not match weight \(wv.shape)")
    let B = xv.shape[0], cin = wv.shape[1], cout = wv.shape[0]
    let L = xv.shape[2...].reduce(1, *)
    if let bias { precondition(bias.shape == [cout], "linearChannels: bias \(bias.shape) != [\(cout)]") }
    var y = [Float](repeating: 0, count: B * cout * L)
    let bv = bias?.value
    xv.data.withUnsafeBufferPointer { px in wv.data.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
        let px = px.baseAddress!, pw = pw.baseAddress!, py = py.baseAddress!
        Parallel.forEach(B) { b in
            let yb = py + b * cout * L
            if let bv {
                bv.data.withUnsafeBufferPointer { pb in
                    for o in 0..<cout { (yb + o * L).update(repeating: pb[o], count: L) }
                }
            }
            // (Cout, Cin) × (Cin, L) → (Cout, L)
            BLAS.sgemm(m: cout, n: L, k: cin, a: pw, lda: cin, b: px + b * cin * L, ldb: L,
                       beta: bv == nil ? 0 : 1, c: yb, ldc: L)
        }
    } } }
    var outShape = xv.shape; outShape[1] = cout
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(Tensor(shape: outShape, data: y), parents: parents) { g in
        var grads: [Tensor?] = []
        g.data.withUnsafeBufferPointer { pgb in
            let pg = pgb.baseAddress!
            if x.requiresGrad {
                var gx = [Float](repeating: 0, count: xv.count)
                wv.data.withUnsafeBufferPointer { pw in gx.withUnsafeMutableBufferPointer { o in
                    let pw = pw.baseAddress!, po = o.baseAddress!
                    Parallel.forEach(B) { b in
                        // (Cout, Cin)ᵀ × (Cout, L) → (Cin, L)
                        BLAS.sgemm(transA: true, m: cin, n: L, k: cout, a: pw, lda: cin, b: pg + b * cout * L, ldb: L,
                                   c: po + b * cin * L, ldc: L)
                    }
                } }
                grads.append(Tensor(shape: xv.shape, data: gx))
            } else { grads.append(nil) }
            if weight.requiresGrad {
                // Σ_b (Cout, L) × (Cin, L)ᵀ → (Cout, Cin): each worker sums its share of the batch
                // into its own partial, then the partials are added.
                let chunks = min(B, Parallel.maxThreads)
                var partial = [Float](repeating: 0, count: chunks * cout * cin)
                xv.data.withUnsafeBufferPointer { px in partial.withUnsafeMutableBufferPointer { o in
                    let px = px.baseAddress!, po = o.baseAddress!
                    Parallel.forEach(chunks) { c in
                        let lo = B * c / chunks, hi = B * (c + 1) / chunks
                        for b in lo..<hi {
                            BLAS.sgemm(transB: true, m: cout, n: cin, k: L, a: pg + b * cout * L, lda: L,
                                       b: px + b * cin * L, ldb: L, beta: b == lo ? 0 : 1,
                                       c: po + c * cout * cin, ldc: cin)
                        }
                    }
                } }
                var gw = chunks == 0 ? [Float](repeating: 0, count: cout * cin) : Array(partial[0..<(cout * cin)])
                for c in 1..<max(chunks, 1) {
                    gw.withUnsafeMutableBufferPointer { o in partial.withUnsafeBufferPointer { p in
                        for i in 0..<o.count { o[i] += p[c * cout * cin + i] }
                    } }
                }
                grads.append(Tensor(shape: [cout, cin], data: gw))
            } else { grads.append(nil) }
            if let bias {
                if bias.requiresGrad {
                    var gb = [Float](repeating: 0, count: cout)
                    for b in 0..<B {
                        for o in 0..<cout {
                            var s: Float = 0
                            let row = pg + (b * cout + o) * L
                            for l in 0..<L { s += row[l] }
                            gb[o] += s
                        }
                    }
                    grads.append(Tensor(shape: [cout], data: gb))
                } else { grads.append(nil) }
            }
        }
        return grads
    }
}
