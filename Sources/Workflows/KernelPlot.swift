import Foundation
import MediaIO
import SSMCore

/// Draws what a model's kernels learned as one RGB image: per kernel a panel of impulse
/// responses (the first channels of the forward direction, and the backward one mirrored to
/// negative lags for a bidirectional kernel); for an N-D layer whose kernels are 1-D per axis,
/// one row per layer with a panel per axis and the 2-D kernel of feature 0 (the outer product of
/// the first two axes) as a heat map (red positive, blue negative).
public enum KernelPlot {
    public static let panelWidth = 320, panelHeight = 120, margin = 8

    /// Kernels grouped into rows: `rows[i]` = the kernels drawn side by side (e.g. one per axis).
    public static func render(rows: [[(String, any SequenceKernel)]], length: Int, heatMap: Bool, features: Int = 6) -> Image {
        let heatSize = panelHeight
        let columns = rows.map { $0.count }.max() ?? 1
        let width = margin + columns * (panelWidth + margin) + (heatMap ? heatSize + margin : 0)
        let height = margin + max(1, rows.count) * (panelHeight + margin)
        var canvas = Canvas(width: width, height: height)
        for (r, row) in rows.enumerated() {
            let y0 = margin + r * (panelHeight + margin)
            var full: [[Float]] = []
            for (c, (_, k)) in row.enumerated() {
                let x0 = margin + c * (panelWidth + margin)
                let curves = responses(k, length: length, features: features)
                canvas.panel(x: x0, y: y0, w: panelWidth, h: panelHeight, curves: curves)
                full.append(curves.first ?? [])
            }
            if heatMap, full.count >= 2 {
                canvas.heat(x: margin + columns * (panelWidth + margin), y: y0, size: heatSize, rows: full[0], cols: full[1])
            }
        }
        return canvas.image
    }

    /// Impulse responses of the first `features` features: lags −(L−1)…(L−1) for a bidirectional
    /// (2-channel) kernel, 0…L−1 otherwise.
    static func responses(_ k: any SequenceKernel, length: Int, features: Int) -> [[Float]] {
        let v = Autograd.withoutGradients { k.kernel(length: length, rate: 1).value }   // (C, H, L)
        let (c, h, l) = (v.shape[0], v.shape[1], v.shape[2])
        return (0..<min(features, h)).map { hi in
            let fwd = Array(v.data[(hi * l)..<((hi + 1) * l)])
            guard c >= 2 else { return fwd }
            let bwd = Array(v.data[((h + hi) * l)..<((h + hi + 1) * l)])
            // Lag −j uses the backward kernel's tap j (j ≥ 1).
            return bwd.dropFirst().reversed() + fwd
        }
    }

    struct Canvas {
        let width: Int, height: Int
        var pixels: [Float]
        init(width: Int, height: Int) {
            self.width = width; self.height = height
            pixels = [Float](repeating: 1, count: 3 * width * height)
        }
        var image: Image { Image(channels: 3, height: height, width: width, pixels: pixels) }

        mutating func set(_ x: Int, _ y: Int, _ rgb: (Float, Float, Float)) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let p = y * width + x, plane = width * height
            pixels[p] = rgb.0; pixels[plane + p] = rgb.1; pixels[2 * plane + p] = rgb.2
        }

        mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ rgb: (Float, Float, Float)) {
            let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for s in 0...steps {
                let t = Double(s) / Double(steps)
                set(Int((Double(x0) + t * Double(x1 - x0)).rounded()), Int((Double(y0) + t * Double(y1 - y0)).rounded()), rgb)
            }
        }

        static let palette: [(Float, Float, Float)] = [
            (0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16), (0.58, 0.4, 0.74), (0.55, 0.34, 0.29),
            (0.89, 0.47, 0.76), (0.5, 0.5, 0.5),
        ]

        /// A framed panel with a zero line and one polyline per curve, scaled to the largest |value|.
        mutating func panel(x: Int, y: Int, w: Int, h: Int, curves: [[Float]]) {
            let frame: (Float, Float, Float) = (0.7, 0.7, 0.7)
            line(x, y, x + w - 1, y, frame); line(x, y + h - 1, x + w - 1, y + h - 1, frame)
            line(x, y, x, y + h - 1, frame); line(x + w - 1, y, x + w - 1, y + h - 1, frame)
            line(x + 1, y + h / 2, x + w - 2, y + h / 2, (0.85, 0.85, 0.85))
            let peak = max(curves.flatMap { $0 }.map { abs($0) }.filter(\.isFinite).max() ?? 0, 1e-12)
            for (i, curve) in curves.enumerated() where curve.count > 0 {
                let colour = Canvas.palette[i % Canvas.palette.count]
                var last: (Int, Int)?
                for (j, v) in curve.enumerated() {
                    let px = x + 2 + Int(Double(j) / Double(max(curve.count - 1, 1)) * Double(w - 5))
                    let value = v.isFinite ? v : 0
                    let py = y + h / 2 - Int((Double(value / peak) * Double(h / 2 - 3)).rounded())
                    if let last { line(last.0, last.1, px, py, colour) }
                    last = (px, py)
                }
            }
        }

        /// `rows ⊗ cols` as a `size × size` heat map (red > 0, blue < 0, white 0).
        mutating func heat(x: Int, y: Int, size: Int, rows: [Float], cols: [Float]) {
            guard !rows.isEmpty, !cols.isEmpty else { return }
            let peak = max((rows.map { abs($0) }.max() ?? 0) * (cols.map { abs($0) }.max() ?? 0), 1e-12)
            for py in 0..<size { for px in 0..<size {
                let r = rows[min(rows.count - 1, py * rows.count / size)], c = cols[min(cols.count - 1, px * cols.count / size)]
                let v = max(-1, min(1, r * c / peak))
                let rgb: (Float, Float, Float) = v >= 0 ? (1, 1 - v, 1 - v) : (1 + v, 1 + v, 1)
                set(x + px, y + py, rgb)
            }}
        }
    }
}
