/// Resampling filters for ``Image/resized(height:width:filter:)``.
public enum ResizeFilter: String, Sendable, CaseIterable {
    /// Per axis: ``area`` when shrinking, ``bilinear`` when growing (identity at equal size).
    case automatic
    /// Box filter of exact coverage: each output pixel is the area-weighted mean of the input
    /// pixels its footprint `[i·s, (i+1)·s)` overlaps, `s = in/out`. Antialiased when shrinking.
    case area
    /// Linear interpolation between the two nearest input centres (half-pixel centres,
    /// `x = (i + ½)·s − ½`, clamped to the edge).
    case bilinear
    /// Keys' cubic convolution (a = −½) on the four nearest input centres, edge samples repeated;
    /// results are clamped to [0, 1].
    case bicubic
}

extension Image {
    /// This image resampled to `height × width`, each axis separately (rows, then columns).
    ///
    /// Shapes: (C, H, W) → (C, H, width) → (C, height, width).
    public func resized(height outHeight: Int, width outWidth: Int, filter: ResizeFilter = .automatic) -> Image {
        precondition(outHeight > 0 && outWidth > 0, "resize needs a positive size, got \(outHeight)×\(outWidth)")
        precondition(height > 0 && width > 0, "cannot resize an empty image")
        if outHeight == height && outWidth == width && filter != .bicubic { return self }
        let horizontal = ResizeWeights(input: width, output: outWidth, filter: filter)
        let vertical = ResizeWeights(input: height, output: outHeight, filter: filter)
        let clamp = filter == .bicubic

        // Rows: (C, H, W) → (C, H, outWidth)
        var across = [Float](repeating: 0, count: channels * height * outWidth)
        pixels.withUnsafeBufferPointer { src in
            across.withUnsafeMutableBufferPointer { dst in
                for row in 0..<(channels * height) {
                    let s = src.baseAddress! + row * width
                    let d = dst.baseAddress! + row * outWidth
                    for i in 0..<outWidth {
                        var acc: Float = 0
                        for k in horizontal.starts[i]..<horizontal.starts[i + 1] {
                            acc += horizontal.weights[k] * s[horizontal.indices[k]]
                        }
                        d[i] = acc
                    }
                }
            }
        }
        // Columns: (C, H, outWidth) → (C, outHeight, outWidth)
        var out = [Float](repeating: 0, count: channels * outHeight * outWidth)
        across.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    let s = src.baseAddress! + c * height * outWidth
                    let d = dst.baseAddress! + c * outHeight * outWidth
                    for j in 0..<outHeight {
                        let drow = d + j * outWidth
                        for k in vertical.starts[j]..<vertical.starts[j + 1] {
                            let w = vertical.weights[k]
                            let srow = s + vertical.indices[k] * outWidth
                            for x in 0..<outWidth { drow[x] += w * srow[x] }
                        }
                        if clamp { for x in 0..<outWidth { drow[x] = min(max(drow[x], 0), 1) } }
                    }
                }
            }
        }
        return Image(channels: channels, height: outHeight, width: outWidth, pixels: out)
    }
}

/// Sparse 1-D resampling matrix: output `i` = Σ_k weights[k] · input[indices[k]] for
/// `k ∈ starts[i]..<starts[i+1]`. Every row's weights sum to 1.
struct ResizeWeights {
    var starts: [Int] = [0]
    var indices: [Int] = []
    var weights: [Float] = []

    init(input n: Int, output m: Int, filter: ResizeFilter) {
        let scale = Double(n) / Double(m)  // input pixels per output pixel
        var kind = filter
        if kind == .automatic { kind = m < n ? .area : .bilinear }
        for i in 0..<m {
            var taps: [(Int, Double)] = []
            switch kind {
            case .area, .automatic:
                let lo = Double(i) * scale, hi = Double(i + 1) * scale
                var j = Int(lo.rounded(.down))
                while Double(j) < hi && j < n {
                    let overlap = min(Double(j + 1), hi) - max(Double(j), lo)
                    if overlap > 0 { taps.append((j, overlap / scale)) }
                    j += 1
                }
            case .bilinear:
                let x = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(n - 1))
                let j0 = Int(x.rounded(.down)), f = x - Double(j0)
                taps.append((j0, 1 - f))
                if f > 0 { taps.append((min(j0 + 1, n - 1), f)) }
            case .bicubic:
                let x = (Double(i) + 0.5) * scale - 0.5
                let j0 = Int(x.rounded(.down)), t = x - Double(j0)
                for o in -1...2 {
                    taps.append((min(max(j0 + o, 0), n - 1), ResizeWeights.keys(Double(o) - t)))
                }
            }
            let total = taps.reduce(0) { $0 + $1.1 }
            for (j, w) in taps {
                indices.append(j)
                weights.append(Float(w / total))
            }
            starts.append(indices.count)
        }
    }

    /// Keys' cubic convolution kernel with a = −½.
    static func keys(_ x: Double) -> Double {
        let a = -0.5, t = abs(x)
        if t <= 1 { return (a + 2) * t * t * t - (a + 3) * t * t + 1 }
        if t < 2 { return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a }
        return 0
    }
}
