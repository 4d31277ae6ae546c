import Foundation
import MediaIO

/// Turns an IDX image/label pair (MNIST, Fashion-MNIST) into an ImageFolder of PNGs.
public enum IDXImport {
    /// Class names of Fashion-MNIST, in label order.
    public static let fashionMNISTClasses = ["t-shirt", "trouser", "pullover", "dress", "coat",
                                             "sandal", "shirt", "sneaker", "bag", "ankle-boot"]

    public struct Summary: Sendable { public var written: Int; public var perClass: [String: Int] }

    /// Writes `out/<class>/<index>.png` (8-bit gray) for each image. `classNames` defaults to
    /// `0`, `1`, … (one per distinct label). `limit` keeps the first `limit` images.
    public static func run(images imagesURL: URL, labels labelsURL: URL, out: URL, classNames: [String]? = nil,
                           limit: Int? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> Summary {
        let images = try IDXArray.read(imagesURL)
        let labels = try IDXArray.read(labelsURL)
        guard images.shape.count == 3 else {
            throw DatasetError.invalid("\(imagesURL.path): expected an IDX image array (N, H, W), found shape \(images.shape)")
        }
        guard labels.shape.count == 1 else {
            throw DatasetError.invalid("\(labelsURL.path): expected an IDX label vector (N), found shape \(labels.shape)")
        }
        guard labels.shape[0] == images.shape[0] else {
            throw DatasetError.invalid("\(imagesURL.path) has \(images.shape[0]) images but \(labelsURL.path) has \(labels.shape[0]) labels")
        }
        let maxLabel = Int(labels.bytes.max() ?? 0)
        let names = classNames ?? (0...maxLabel).map(String.init)
        guard maxLabel < names.count else {
            throw DatasetError.invalid("\(labelsURL.path): label \(maxLabel) has no class name (\(names.count) given)")
        }
        guard Set(names).count == names.count, names.allSatisfy({ !$0.isEmpty && !$0.contains("/") && $0 != "." && $0 != ".." }) else {
            throw DatasetError.invalid("class names must be distinct, non-empty and contain no '/': \(names)")
        }
        if let long = names.first(where: { $0.utf8.count > 255 }) {
            throw DatasetError.invalid("class name '\(long.prefix(40))…' is \(long.utf8.count) bytes long; a folder name holds at most 255")
        }
        let n = min(images.shape[0], limit ?? Int.max)
        let (h, w) = (images.shape[1], images.shape[2])
        let digits = String(max(n - 1, 1)).count
        // Class folders are made as their first image comes: no empty class folders.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var perClass: [String: Int] = [:]
        for i in 0..<n {
            let bytes = images.bytes[(i * h * w)..<((i + 1) * h * w)]
            let image = Image(channels: 1, height: h, width: w, pixels: bytes.map { Float($0) / 255 })
            let cls = names[Int(labels.bytes[i])]
            let index = String(i)
            if perClass[cls] == nil {
                try FileManager.default.createDirectory(at: out.appendingPathComponent(cls), withIntermediateDirectories: true)
            }
            let file = out.appendingPathComponent(cls).appendingPathComponent(String(repeating: "0", count: digits - index.count) + index + ".png")
            try PNGFile.write(image, to: file.path)
            perClass[cls, default: 0] += 1
            if (i + 1) % 1000 == 0 || i + 1 == n { progress?(i + 1, n) }
        }
        return Summary(written: n, perClass: perClass)
    }
}
