import Foundation
import MediaIO
import S4ND
import SSMCore

/// An image size `height × width`, written `N` (square) or `HxW` on the command line.
public struct ImageSize: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public init(height: Int, width: Int) { self.height = height; self.width = width }

    /// Largest side accepted anywhere (resizing targets, model inputs).
    public static let maxSide = 2048

    /// Parses `28` or `28x32` (`x` or `×`, height first); sides must be in `1...maxSide`.
    /// (Models are run on at most ``Classification/maxPixels``; commands check that.)
    public init?(parsing text: String) {
        let parts = text.lowercased().split(omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "×" }).map(String.init)
        guard parts.count == 1 || parts.count == 2,
              let h = Int(parts[0]), let w = Int(parts.count == 2 ? parts[1] : parts[0]),
              (1...Self.maxSide).contains(h), (1...Self.maxSide).contains(w) else { return nil }
        height = h; width = w
    }

    /// `28` for a square size, else `28x32`.
    public var description: String { height == width ? "\(height)" : "\(height)x\(width)" }
    public var array: [Int] { [height, width] }
}

/// One class and its probability.
public struct LabelScore: Equatable, Sendable {
    public var index: Int
    public var label: String
    public var score: Float
}

/// The result of classifying one file.
public struct FileClassification: Sendable {
    public var file: String
    /// Size the model ran at, `[height, width]`, `[frames, height, width]`, or `[]` (audio).
    public var size: [Int]
    /// The `k` most probable classes, most probable first (softmax probabilities).
    public var top: [LabelScore]
    public var label: String { top[0].label }
    public var score: Float { top[0].score }
    public init(file: String, size: [Int], top: [LabelScore]) { self.file = file; self.size = size; self.top = top }
}

/// Why a file could not be classified (besides ``MediaError``s from reading it), in the same
/// `kind: reason` shape as a ``MediaError``.
public struct ClassificationError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The input is larger than the model is run on (the reason says how to resize).
        case tooLarge = "too_large"
        /// The input is smaller than the model is run on.
        case tooSmall = "too_small"
        /// The model's scores were NaN or infinite: no result.
        case nonFinite = "non_finite"
        /// Nothing to classify (e.g. a folder without media files).
        case empty
    }
    public var file: String
    public var kind: Kind
    public var reason: String
    public init(file: String, kind: Kind, reason: String) { self.file = file; self.kind = kind; self.reason = reason }
    /// `kind: reason`, as reported beside the file.
    public var text: String { "\(kind.rawValue): \(reason)" }
    public var description: String { "\(file): \(text)" }
}

/// Classifying image files of any size with an ``ImageClassifier``.
public enum Classification {
    /// Smallest side and largest pixel count an image model is run on — the same limit for an
    /// image at its own size and for `--size`. Inference memory grows with the pixels (the shipped
    /// H = 64 model: about 2 KB per pixel, 519 MB at 512×512), so larger images are refused up
    /// front rather than run out of memory.
    public static let minSide = 2
    public static let maxPixels = 512 * 512

    /// Why an image of `height × width` cannot be run as it is (nil when it can).
    public static func sizeProblem(height: Int, width: Int) -> String? {
        guard height < minSide || width < minSide || height * width > maxPixels else { return nil }
        return "the model runs on \(minSide)x\(minSide) up to \(maxPixels) pixels (512x512; inference memory grows with the pixel count, " +
            "about 2 KB per pixel for the shipped model)"
    }

    /// Class names of `model`, `"0"`, `"1"`, … when the configuration has none.
    public static func labels(of model: ImageClassifier) -> [String] {
        let names = model.config.classNames
        return names.count == model.config.classes ? names : (0..<model.config.classes).map(String.init)
    }

    /// Paths to classify: each file as given; each directory walked recursively for `*.png`
    /// (sorted, hidden entries skipped). Paths that do not exist are kept, so reading them reports them.
    public static func expand(_ paths: [String]) -> [String] {
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue else {
                out.append(p); continue
            }
            out += pngFiles(under: p)
        }
        return out
    }

    static func pngFiles(under dir: String) -> [String] {
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        var out: [String] = []
        let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        for name in entries where !name.hasPrefix(".") {
            let path = base + "/" + name
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if isDir.boolValue { out += pngFiles(under: path) }
            else if name.lowercased().hasSuffix(".png") { out.append(path) }
        }
        return out
    }

    /// Reads `file` in the model's channel layout (gray or RGB), resized to `size` if given.
    public static func load(_ file: String, channels: Int, size: ImageSize?, limits: MediaLimits = .default) throws -> Image {
        let image = try Samples.image(file, mode: channels == 1 ? .gray : .rgb, height: size?.height, width: size?.width, limits: limits)
        if size == nil, let problem = sizeProblem(height: image.height, width: image.width) {
            throw ClassificationError(file: file, kind: image.height < minSide || image.width < minSide ? .tooSmall : .tooLarge,
                                      reason: "image is \(image.width) wide × \(image.height) high (\(image.height * image.width) pixels); " +
                                      problem + "; use --size to resize, e.g. --size 512")
        }
        return image
    }

    /// The `k` largest of one row of probabilities, most probable first (ties: lower index first).
    public static func topK(_ probabilities: ArraySlice<Float>, k: Int, labels: [String]) -> [LabelScore] {
        let base = probabilities.startIndex
        let order = probabilities.indices.sorted { a, b in
            probabilities[a] != probabilities[b] ? probabilities[a] > probabilities[b] : a < b
        }
        return order.prefix(k).map { LabelScore(index: $0 - base, label: labels[$0 - base], score: probabilities[$0]) }
    }

    /// Classifies `files` in order, calling `report` once per file with its result or error.
    ///
    /// Files are read `chunk` at a time in parallel; within a chunk, images of equal size run as one
    /// batch (split so that a batch holds about `batchPixels` pixels at most). Each image runs at its
    /// own size (the model sets `rate = train size / input size` per axis) unless `size` resizes it
    /// first with MediaIO's antialiased filter.
    public static func classify(_ files: [String], model: ImageClassifier, topK k: Int, size: ImageSize?,
                                chunk: Int = 64, batchPixels: Int = 64 * 32 * 32, limits: MediaLimits = .default,
                                report: (String, Result<FileClassification, Error>) -> Void) {
        let labels = labels(of: model)
        let k = max(1, min(k, labels.count))
        let channels = model.config.inputChannels
        var start = 0
        while start < files.count {
            let part = Array(files[start..<min(files.count, start + chunk)])
            var loaded = [Result<Image, Error>?](repeating: nil, count: part.count)
            loaded.withUnsafeMutableBufferPointer { slots in
                let slots = slots
                Parallel.forEach(part.count) { i in
                    do { slots[i] = .success(try load(part[i], channels: channels, size: size, limits: limits)) }
                    catch { slots[i] = .failure(error) }
                }
            }
            var results = [Result<FileClassification, Error>?](repeating: nil, count: part.count)
            var bySize: [[Int]: [Int]] = [:]
            var sizeOrder: [[Int]] = []
            for (i, r) in loaded.enumerated() {
                switch r! {
                case .failure(let e): results[i] = .failure(e)
                case .success(let img):
                    let key = [img.height, img.width]
                    if bySize[key] == nil { sizeOrder.append(key) }
                    bySize[key, default: []].append(i)
                }
            }
            for key in sizeOrder {
                let (h, w) = (key[0], key[1])
                // Large images go in smaller batches: about `batchPixels` pixels per forward pass at most.
                let group = bySize[key]!
                let perBatch = max(1, batchPixels / (h * w))
                for first in stride(from: 0, to: group.count, by: perBatch) {
                    let members = Array(group[first..<min(group.count, first + perBatch)])
                    var pixels: [Float] = []
                    pixels.reserveCapacity(members.count * channels * h * w)
                    for i in members { if case .success(let img)? = loaded[i] { pixels += img.pixels } }
                    let x = Tensor(shape: [members.count, channels, h, w], data: pixels)   // (B, C, h, w)
                    let logits = Autograd.withoutGradients { model(x).value }              // (B, classes)
                    let probs = logits.softmax()
                    let K = labels.count
                    for (r, i) in members.enumerated() {
                        // Non-finite scores are wrong data, never a result.
                        guard logits.data[(r * K)..<((r + 1) * K)].allSatisfy(\.isFinite) else {
                            results[i] = .failure(ClassificationError(file: part[i], kind: .nonFinite, reason: "the model produced non-finite scores for this image"))
                            continue
                        }
                        let row = probs.data[(r * K)..<((r + 1) * K)]
                        results[i] = .success(FileClassification(file: part[i], size: key, top: topK(row, k: k, labels: labels)))
                    }
                }
            }
            for (i, r) in results.enumerated() { report(part[i], r!) }
            start += part.count
        }
    }
}

extension Classification {
    /// Largest grid (frames × height × width) a video model runs on without `--size`/`--frames`.
    public static let maxClipPositions = 64 * 128 * 128

    /// Classifies one video with a 3-axis model: `frames` evenly spaced frames (default: the
    /// model's training frames; fewer when the clip is shorter) at the clip's own size, or
    /// scaled to `size`.
    public static func classifyClip(_ file: String, model: ImageClassifier, topK k: Int, frames: Int? = nil, size: ImageSize? = nil,
                                    limits: MediaLimits = .default) throws -> FileClassification {
        precondition(model.axes == 3, "classifyClip needs a video model")
        let T = frames ?? model.config.trainSize[0]
        let info = try VideoFile.info(file, limits: limits)
        if size == nil {
            let positions = min(T, max(info.frames, 1)) * info.width * info.height
            guard info.width >= minSide, info.height >= minSide, positions <= maxClipPositions else {
                throw ClassificationError(file: file, kind: info.width < minSide || info.height < minSide ? .tooSmall : .tooLarge,
                                          reason: "clip is \(info.width) wide × \(info.height) high with \(T) frames; the model runs on " +
                                          "\(minSide)x\(minSide) up to \(maxClipPositions) frame pixels in all (use --size or --frames)")
            }
        }
        let (pixels, grid) = try Samples.clip(file, frames: T, gray: model.config.inputChannels == 1, height: size?.height,
                                             width: size?.width, info: info, limits: limits)
        return FileClassification(file: file, size: grid, top: try scores(model, Tensor(shape: [1, model.config.inputChannels] + grid, data: pixels),
                                                                          topK: k, file: file))
    }

    /// The `k` most probable classes for one input `(1, C, L₁, …, Lₙ)`; non-finite scores are an error.
    public static func scores(_ model: ImageClassifier, _ x: Tensor, topK k: Int, file: String) throws -> [LabelScore] {
        let labels = labels(of: model)
        let logits = Autograd.withoutGradients { model(x).value }
        guard logits.data.allSatisfy(\.isFinite) else {
            throw ClassificationError(file: file, kind: .nonFinite, reason: "the model produced non-finite scores for this \(model.axes == 3 ? "clip" : "image")")
        }
        return topK(logits.softmax().data[...], k: max(1, min(k, labels.count)), labels: labels)
    }
}

/// Data sets for a given model: class folders matched to the model's classes by name.
public enum ModelData {
    /// Loads the folder at `root` at grid `size` (`[height, width]`, or `[frames, height, width]`
    /// for a video model) in the model's channel layout, with labels being the model's class
    /// indices. Every class folder must be one of the model's classes (a folder may be missing);
    /// otherwise ``DatasetError/classMismatch(path:found:expected:)``. `storedFrames` as in
    /// ``ImageFolder/load(_:size:mode:storedFrames:limits:progress:)``.
    public static func load(_ root: String, for model: ImageClassifier, size: [Int], storedFrames: Int? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws -> (ImageDataset, skipped: [MediaError]) {
        guard size.count == model.axes else {
            throw DatasetError.invalid("size \(size) has \(size.count) axes; the model has \(model.axes)")
        }
        let labels = Classification.labels(of: model)
        let folders = try ImageFolder.list(root, kind: SampleKind(axes: model.axes) ?? .image).classNames
        guard folders.allSatisfy(labels.contains) else {
            throw DatasetError.classMismatch(path: root, found: folders, expected: labels)
        }
        var (data, skipped) = try ImageFolder.load(root, size: size, mode: model.config.inputChannels == 1 ? .gray : .rgb,
                                                   storedFrames: storedFrames, progress: progress)
        let map = data.classNames.map { labels.firstIndex(of: $0)! }
        data.labels = data.labels.map { map[$0] }
        data.classNames = labels
        return (data, skipped)
    }

    /// An image model's data at `size`.
    public static func load(_ root: String, for model: ImageClassifier, size: ImageSize,
                            progress: ((Int, Int) -> Void)? = nil) throws -> (ImageDataset, skipped: [MediaError]) {
        try load(root, for: model, size: size.array, progress: progress)
    }
}

extension ImageDataset {
    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageDataset {
        let s = imageSize
        var out = [Float](repeating: 0, count: indices.count * s)
        out.withUnsafeMutableBufferPointer { o in
            images.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() { (o.baseAddress! + k * s).update(from: src.baseAddress! + i * s, count: s) }
            }
        }
        return ImageDataset(images: out, labels: indices.map { labels[$0] }, channels: channels, spatial: spatial,
                            clipFrames: clipFrames, classNames: classNames, files: indices.map { files[$0] })
    }

    /// A seeded random split: `(rest, held out)` with `round(fraction · count)` images held out
    /// (at least 1 and at most `count − 1` when `fraction > 0` and `count ≥ 2`). Same seed, same split.
    public func split(holdOut fraction: Double, seed: UInt64) -> (ImageDataset, ImageDataset) {
        var rng = SeededRNG(seed: seed ^ 0x5eed_5b1d)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        var n = Int((fraction * Double(count)).rounded())
        if fraction > 0 && count >= 2 { n = min(max(n, 1), count - 1) }
        n = min(max(n, 0), count)
        return (subset(Array(order[n...]).sorted()), subset(Array(order[..<n]).sorted()))
    }

    /// A seeded random sample of `n` images (all if `n ≥ count`), kept in file order.
    public func sample(_ n: Int, seed: UInt64) -> ImageDataset {
        guard n < count else { return self }
        var rng = SeededRNG(seed: seed ^ 0x5a3b1e)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        return subset(Array(order[..<n]).sorted())
    }
}
