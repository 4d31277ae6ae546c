import Foundation
import MediaIO
import SSMCore

/// A labelled set of equally sized images held in memory: `images` `(N, C, H, W)` in [0, 1].
public struct ImageDataset: Sendable {
    public var images: [Float]
    public var labels: [Int]
    public var channels: Int
    public var height: Int
    public var width: Int
    /// Class names, index = label.
    public var classNames: [String]
    /// Source file of each image (for reports).
    public var files: [String]

    public var count: Int { labels.count }
    public var imageSize: Int { channels * height * width }

    public init(images: [Float], labels: [Int], channels: Int, height: Int, width: Int, classNames: [String], files: [String]) {
        precondition(images.count == labels.count * channels * height * width)
        self.images = images; self.labels = labels; self.channels = channels
        self.height = height; self.width = width; self.classNames = classNames; self.files = files
    }

    /// Images `indices` as a `(n, C, H, W)` tensor and their labels.
    public func batch(_ indices: ArraySlice<Int>) -> (Tensor, [Int]) {
        let s = imageSize
        var out = [Float](repeating: 0, count: indices.count * s)
        out.withUnsafeMutableBufferPointer { o in
            images.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    (o.baseAddress! + k * s).update(from: src.baseAddress! + i * s, count: s)
                }
            }
        }
        return (Tensor(shape: [indices.count, channels, height, width], data: out), indices.map { labels[$0] })
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
        case .noClasses(let p): return "\(p): no class folders (expected \(p)/<class>/<image>.png)"
        case .noImages(let p): return "\(p): no readable PNG images"
        case let .classMismatch(p, f, e):
            return "\(p): class folders \(f) do not match the model's classes \(e)"
        case .invalid(let s): return s
        }
    }
}

/// An ImageFolder: `root/<class>/<file>.png`, classes in sorted order.
public enum ImageFolder {
    /// Lists `(file, classIndex)` pairs and the class names.
    public static func list(_ root: String) throws -> (files: [(String, Int)], classNames: [String]) {
        let l = try listing(root)
        return (l.files, l.classNames)
    }

    /// The folder's PNGs per class, the hidden entries skipped (counted) and the class folders
    /// that hold no PNG. Class folders are the visible subfolders of `root`, in sorted order.
    public static func listing(_ root: String) throws -> (files: [(String, Int)], classNames: [String], hidden: Int, emptyClasses: [String]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError.notADirectory(root)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        var hidden = entries.filter { $0.hasPrefix(".") }.count
        let classes = entries.filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &d) && d.boolValue
        }
        guard !classes.isEmpty else { throw DatasetError.noClasses(root) }
        var files: [(String, Int)] = [], empty: [String] = []
        for (ci, c) in classes.enumerated() {
            let l = FolderWalker.list(root + "/" + c, recursive: false) { $0.lowercased().hasSuffix(".png") }
            hidden += l.hidden
            if l.files.isEmpty { empty.append(c) }
            files += l.files.map { ($0, ci) }
        }
        return (files, classes, hidden, empty)
    }

    /// Loads every PNG under `root` as `mode` (gray or RGB) resized to `height × width`.
    /// Unreadable files are skipped and returned in `skipped`; `progress(done, total)` is called
    /// as files load.
    public static func load(_ root: String, height: Int, width: Int, mode: Image.ColorMode,
                            limits: MediaLimits = .default,
                            progress: ((Int, Int) -> Void)? = nil) throws -> (ImageDataset, skipped: [MediaError]) {
        let (files, classNames) = try list(root)
        let channels = mode == .gray ? 1 : 3
        let s = channels * height * width
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
                do {
                    var img = try PNGFile.read(files[i].0, mode: mode, limits: limits)
                    img = img.resized(height: height, width: width)
                    img.pixels.withUnsafeBufferPointer { p in (ib.baseAddress! + i * s).update(from: p.baseAddress!, count: s) }
                    okb[i] = true
                } catch let e as MediaError {
                    eb[i] = e
                } catch {
                    eb[i] = MediaError(file: files[i].0, reason: .io("\(error)"))
                }
                lock.lock(); done += 1; let d = done; lock.unlock()
                if d % 1000 == 0 || d == files.count { progress?(d, files.count) }
            }
        }}}
        var kept: [Float] = [], labels: [Int] = [], names: [String] = []
        kept.reserveCapacity(images.count)
        for i in 0..<files.count where ok[i] {
            kept.append(contentsOf: images[(i * s)..<((i + 1) * s)])
            labels.append(files[i].1)
            names.append(files[i].0)
        }
        guard !labels.isEmpty else { throw DatasetError.noImages(root) }
        return (ImageDataset(images: kept, labels: labels, channels: channels, height: height, width: width,
                             classNames: classNames, files: names), errors.compactMap { $0 })
    }
}
