import Foundation
import MediaIO
import SSMCore

/// A labelled set of equally sized images or video clips held in memory: `images`
/// `(N, C, L₁, …, Lₙ)` in [0, 1] — `(N, C, H, W)` for images, `(N, C, T, H, W)` for clips.
///
/// Clips may be stored with more frames than the model takes (``clipFrames``): each batch then
/// takes `clipFrames` evenly spaced frames (``FrameSampling``), at a random phase for training
/// (a temporal crop) or the centred one.
public struct ImageDataset: Sendable {
    public var images: [Float]
    public var labels: [Int]
    public var channels: Int
    /// Grid size per item as stored: `[height, width]` or `[frames, height, width]`.
    public var spatial: [Int]
    /// Frames per clip handed to the model (nil: all stored frames).
    public var clipFrames: Int? = nil
    /// Class names, index = label.
    public var classNames: [String]
    /// Source file of each item (for reports).
    public var files: [String]

    public var count: Int { labels.count }
    /// Values per stored item.
    public var imageSize: Int { channels * spatial.reduce(1, *) }
    public var height: Int { spatial[spatial.count - 2] }
    public var width: Int { spatial[spatial.count - 1] }
    /// Whether the items are clips (3 grid axes).
    public var isVideo: Bool { spatial.count == 3 }
    /// Grid size of a batch item: the stored one with ``clipFrames`` frames.
    public var itemSize: [Int] {
        guard isVideo, let t = clipFrames else { return spatial }
        return [min(t, spatial[0])] + spatial.dropFirst()
    }

    public init(images: [Float], labels: [Int], channels: Int, spatial: [Int], clipFrames: Int? = nil,
                classNames: [String], files: [String]) {
        precondition(images.count == labels.count * channels * spatial.reduce(1, *))
        self.images = images; self.labels = labels; self.channels = channels; self.spatial = spatial
        self.clipFrames = clipFrames; self.classNames = classNames; self.files = files
    }

    public init(images: [Float], labels: [Int], channels: Int, height: Int, width: Int, classNames: [String], files: [String]) {
        self.init(images: images, labels: labels, channels: channels, spatial: [height, width], classNames: classNames, files: files)
    }

    /// Items `indices` as a `(n, C, L₁, …, Lₙ)` tensor and their labels. For clips stored with
    /// more frames than ``clipFrames``, `phase` picks each item's first frame among the valid
    /// offsets (nil: the centred one).
    public func batch(_ indices: ArraySlice<Int>, phase: (() -> Int)? = nil) -> (Tensor, [Int]) {
        let s = imageSize
        let item = itemSize
        let itemCount = channels * item.reduce(1, *)
        var out = [Float](repeating: 0, count: indices.count * itemCount)
        if item == spatial {
            out.withUnsafeMutableBufferPointer { o in
                images.withUnsafeBufferPointer { src in
                    for (k, i) in indices.enumerated() {
                        (o.baseAddress! + k * s).update(from: src.baseAddress! + i * s, count: s)
                    }
                }
            }
        } else {
            let sampling = FrameSampling(source: spatial[0], frames: item[0])
            let plane = height * width
            out.withUnsafeMutableBufferPointer { o in
                images.withUnsafeBufferPointer { src in
                    for (k, i) in indices.enumerated() {
                        let offset = phase.map { $0() % (sampling.maxOffset + 1) } ?? sampling.centredOffset
                        let frames = sampling.indices(offset: offset)
                        for c in 0..<channels {
                            for (t, f) in frames.enumerated() {
                                (o.baseAddress! + k * itemCount + (c * item[0] + t) * plane)
                                    .update(from: src.baseAddress! + i * s + (c * spatial[0] + f) * plane, count: plane)
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: [indices.count, channels] + item, data: out), indices.map { labels[$0] })
    }
}

/// Which `frames` of a clip of `source` frames a model sees: evenly spaced with the integer
/// stride `source / frames` (at least 1), starting at an offset in `0...maxOffset`. The frames
/// cover the whole clip at every `frames`, so a model trained at `T` frames sees a clip at `2T`
/// frames as the same motion at twice the temporal resolution (rate ½ on the time axis).
public struct FrameSampling: Equatable, Sendable {
    public var source: Int
    public var frames: Int
    public init(source: Int, frames: Int) {
        precondition(source >= 1 && frames >= 1, "FrameSampling needs at least one frame (source \(source), frames \(frames))")
        self.source = source; self.frames = frames
    }
    public var stride: Int { max(1, source / frames) }
    /// Source frames from the first to the last kept one.
    public var span: Int { stride * (frames - 1) + 1 }
    public var maxOffset: Int { max(0, source - span) }
    public var centredOffset: Int { maxOffset / 2 }
    /// The kept source frames at `offset` (clamped to the clip when it has fewer than `frames`).
    public func indices(offset: Int) -> [Int] {
        (0..<frames).map { min(source - 1, offset + $0 * stride) }
    }
}

/// Errors of dataset loading that are not about one media file.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case notADirectory(String)
    case noClasses(String)
    case noImages(String)
    case classMismatch(path: String, found: [String], expected: [String])
    case invalid(String)

    public var description: String {
        switch self {
        case .notADirectory(let p): return "\(p): not a directory"
        case .noClasses(let p): return "\(p): no class folders (expected \(p)/<class>/<image or video file>)"
        case .noImages(let p): return "\(p): no image or video files in its class folders"
        case let .classMismatch(p, f, e):
            return "\(p): class folders \(f) do not match the model's classes \(e)"
        case .invalid(let s): return s
        }
    }
}

/// An ImageFolder: `root/<class>/<file>`, classes in sorted order — images (`*.png`, `*.jpg`, …)
/// or videos (`*.mp4`, `*.mkv`, `*.webm`, `*.avi`, `*.gif`, …), see ``SampleKind``.
public enum ImageFolder {
    /// Lists `(file, classIndex)` pairs and the class names.
    public static func list(_ root: String, kind: SampleKind = .image) throws -> (files: [(String, Int)], classNames: [String]) {
        let l = try listing(root, kind: kind)
        return (l.files, l.classNames)
    }

    /// The class folders of `root`: its visible subfolders, sorted, and the hidden entries.
    static func classFolders(_ root: String) throws -> (classes: [String], hidden: Int) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError.notADirectory(root)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        let classes = entries.filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &d) && d.boolValue
        }
        guard !classes.isEmpty else { throw DatasetError.noClasses(root) }
        return (classes, entries.filter { $0.hasPrefix(".") }.count)
    }

    /// The folder's files of `kind` per class, the hidden entries skipped (counted) and the class
    /// folders that hold none. Class folders are the visible subfolders of `root`, in sorted order.
    public static func listing(_ root: String, kind: SampleKind = .image) throws -> (files: [(String, Int)], classNames: [String], hidden: Int, emptyClasses: [String]) {
        var (classes, hidden) = try classFolders(root)
        var files: [(String, Int)] = [], empty: [String] = []
        for (ci, c) in classes.enumerated() {
            let l = FolderWalker.list(root + "/" + c, recursive: false) { kind.matches($0) }
            hidden += l.hidden
            if l.files.isEmpty { empty.append(c) }
            files += l.files.map { ($0, ci) }
        }
        return (files, classes, hidden, empty)
    }

    /// `.video` when the class folders hold files with video extensions and no image ones other
    /// than GIF, else `.image`.
    public static func detectKind(_ root: String) throws -> SampleKind {
        let (classes, _) = try classFolders(root)
        var videos = 0, images = 0
        for c in classes {
            for f in FolderWalker.list(root + "/" + c, recursive: false, accept: { _ in true }).files {
                let ext = (f as NSString).pathExtension.lowercased()
                if ext == "gif" { continue }
                if SampleKind.video.extensions.contains(ext) { videos += 1 } else if SampleKind.image.extensions.contains(ext) { images += 1 }
            }
        }
        return videos > 0 && images == 0 ? .video : .image
    }

    /// Loads every image under `root` as `mode` (gray or RGB) resized to `height × width`.
    public static func load(_ root: String, height: Int, width: Int, mode: Image.ColorMode,
                            limits: MediaLimits = .default,
                            progress: ((Int, Int) -> Void)? = nil) throws -> (ImageDataset, skipped: [MediaError]) {
        try load(root, size: [height, width], mode: mode, limits: limits, progress: progress)
    }

    /// Loads every sample under `root` as `mode` (gray or RGB) at grid size `size`: images
    /// resized to `[height, width]`, or clips at `[frames, height, width]` (``Samples/clip``).
    /// Clips are stored with `storedFrames` (≥ frames) evenly spaced frames when given, so that
    /// training can take the model's frames at a random phase.
    ///
    /// Unreadable files (and clips with too few frames) are skipped and returned in `skipped`;
    /// `progress(done, total)` is called as files load.
    public static func load(_ root: String, size: [Int], mode: Image.ColorMode, storedFrames: Int? = nil,
                            limits: MediaLimits = .default,
                            progress: ((Int, Int) -> Void)? = nil) throws -> (ImageDataset, skipped: [MediaError]) {
        guard let kind = SampleKind(axes: size.count) else { throw DatasetError.invalid("size \(size) must have 2 or 3 entries") }
        let (files, classNames) = try list(root, kind: kind)
        let channels = mode == .gray ? 1 : 3
        let stored = kind == .video ? [max(size[0], storedFrames ?? size[0])] + size.dropFirst() : size
        let s = channels * stored.reduce(1, *)
        var images = [Float](repeating: 0, count: files.count * s)
        var ok = [Bool](repeating: false, count: files.count)
        var errors = [MediaError?](repeating: nil, count: files.count)
        let lock = NSLock()
        var done = 0
        // Workers write through pointers taken once: mutating the arrays themselves from several
        // threads would race on their copy-on-write check.
        images.withUnsafeMutableBufferPointer { ib in ok.withUnsafeMutableBufferPointer { okb in errors.withUnsafeMutableBufferPointer { eb in
            let (ib, okb, eb) = (ib, okb, eb)
            Parallel.forEach(files.count) { i in
                let file = files[i].0
                do {
                    let pixels: [Float]
                    if kind == .video {
                        pixels = try Samples.clip(file, frames: stored[0], gray: mode == .gray, height: stored[1], width: stored[2],
                                                  exact: true, limits: limits).pixels
                    } else {
                        pixels = try Samples.image(file, mode: mode, height: size[0], width: size[1], limits: limits).pixels
                    }
                    pixels.withUnsafeBufferPointer { p in (ib.baseAddress! + i * s).update(from: p.baseAddress!, count: s) }
                    okb[i] = true
                } catch let e as MediaError {
                    eb[i] = e
                } catch {
                    eb[i] = MediaError(file: file, reason: .invalidArgument("\(error)"))
                }
                lock.lock(); done += 1; let d = done; lock.unlock()
                if d % 1000 == 0 || d == files.count || (kind == .video && d % 50 == 0) { progress?(d, files.count) }
            }
        }}}
        var kept: [Float] = [], labels: [Int] = [], names: [String] = []
        kept.reserveCapacity(images.count)
        for i in 0..<files.count where ok[i] {
            kept.append(contentsOf: images[(i * s)..<((i + 1) * s)])
            labels.append(files[i].1)
            names.append(files[i].0)
        }
        guard !labels.isEmpty else {
            guard let first = errors.lazy.compactMap({ $0 }).first else { throw DatasetError.noImages(root) }
            throw DatasetError.invalid("\(root): none of the \(files.count) files could be read; e.g. \(first)")
        }
        return (ImageDataset(images: kept, labels: labels, channels: channels, spatial: stored,
                             clipFrames: kind == .video && stored[0] != size[0] ? size[0] : nil,
                             classNames: classNames, files: names), errors.compactMap { $0 })
    }
}
