import Foundation
import MediaIO
import Sashimi
import SSMCore

/// One audio file as model classes: mono, resampled to the model's rate, peak-normalised and quantised.
public struct AudioClip: Sendable {
    public var file: String
    public var classes: [UInt16]
}

/// Audio files under a folder, in memory as quantised clips.
///
/// Loading (``load(_:config:progress:)``): every file under the folder (recursively, hidden files
/// skipped) with an audio extension MediaIO reads (`wav flac ogg oga opus aif aiff aifc au snd caf
/// w64 rf64 mp3`) is decoded, mixed to mono, resampled to the model's rate, scaled so that its peak
/// is 1 (the official data sets min–max scale each clip to [−1, 1]; a peak scale keeps 0 at 0) and
/// quantised. Unreadable files are returned as errors beside the data set, not fatal.
public struct AudioDataset: Sendable {
    public var clips: [AudioClip]
    public let sampleRate: Int
    public let quantizer: AudioQuantizer

    public static let extensions: Set<String> = ["wav", "flac", "ogg", "oga", "opus", "aif", "aiff", "aifc", "au", "snd",
                                                 "caf", "w64", "rf64", "mp3"]

    public init(clips: [AudioClip], sampleRate: Int, quantizer: AudioQuantizer) {
        self.clips = clips; self.sampleRate = sampleRate; self.quantizer = quantizer
    }

    public var count: Int { clips.count }
    public var totalSamples: Int { clips.reduce(0) { $0 + $1.classes.count } }
    public var seconds: Double { Double(totalSamples) / Double(sampleRate) }

    /// Audio files under `root` (or `root` itself when it is a file), sorted, hidden ones skipped;
    /// symbolic links are followed once (a link back into the tree is listed once).
    public static func list(_ root: String) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir) else { throw DatasetError.notADirectory(root) }
        if !isDir.boolValue { return [root] }
        return FolderWalker.list(root, recursive: true) { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.files
    }

    /// Decodes one file into model classes (see the type's description).
    public static func clip(_ path: String, sampleRate: Int, quantizer: AudioQuantizer, limits: MediaLimits = .default) throws -> AudioClip {
        var audio = try AudioFile.read(path, limits: limits).mono()
        if audio.sampleRate != sampleRate { audio = try audio.resampled(to: sampleRate) }
        var peak: Float = 0
        for x in audio.samples where x.isFinite { peak = max(peak, abs(x)) }
        let scale: Float = peak > 0 ? 1 / peak : 1
        return AudioClip(file: path, classes: audio.samples.map { UInt16(quantizer.encode($0.isFinite ? $0 * scale : 0)) })
    }

    /// Loads every audio file under `root` for a model with `sampleRate` and `quantizer`.
    /// Throws ``DatasetError`` when nothing could be read.
    public static func load(_ root: String, sampleRate: Int, quantizer: AudioQuantizer, limits: MediaLimits = .default,
                            progress: ((Int, Int) -> Void)? = nil) throws -> (AudioDataset, skipped: [MediaError]) {
        let files = try list(root)
        var clips = [AudioClip?](repeating: nil, count: files.count)
        var errors = [MediaError?](repeating: nil, count: files.count)
        let lock = NSLock()
        var done = 0
        Parallel.forEach(files.count) { i in
            do {
                let c = try clip(files[i], sampleRate: sampleRate, quantizer: quantizer, limits: limits)
                if c.classes.isEmpty { throw MediaError(file: files[i], reason: .empty) }
                lock.lock(); clips[i] = c; lock.unlock()
            } catch let e as MediaError {
                lock.lock(); errors[i] = e; lock.unlock()
            } catch {
                lock.lock(); errors[i] = MediaError(file: files[i], reason: .io("\(error)")); lock.unlock()
            }
            lock.lock(); done += 1; let d = done; lock.unlock()
            if d % 500 == 0 || d == files.count { progress?(d, files.count) }
        }
        let kept = clips.compactMap { $0 }
        guard !kept.isEmpty else { throw DatasetError.invalid("\(root): no readable audio files (\(files.count) found with an audio extension)") }
        return (AudioDataset(clips: kept, sampleRate: sampleRate, quantizer: quantizer), errors.compactMap { $0 })
    }

    /// A seeded split: `fraction` of the clips (at least one) held out.
    public func split(holdOut fraction: Double, seed: UInt64) -> (rest: AudioDataset, held: AudioDataset) {
        var rng = SeededRNG(seed: seed ^ 0x5A5A_0A0D_1E55_0001)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        let n = min(count - 1, max(1, Int((Double(count) * fraction).rounded())))
        let held = Set(order.prefix(n))
        var a = self, b = self
        a.clips = clips.indices.filter { !held.contains($0) }.map { clips[$0] }
        b.clips = clips.indices.filter { held.contains($0) }.map { clips[$0] }
        return (a, b)
    }

    /// `batch` random training windows of `length` classes, row-major `(batch, length)`: a clip
    /// chosen uniformly; a longer clip gives a random window of it, a shorter one is placed at a
    /// random offset in silence (the official SC09 set pads its clips the same way).
    public func randomWindows(batch: Int, length: Int, rng: inout SeededRNG) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(batch * length)
        for _ in 0..<batch { out += randomWindow(of: Int(rng.next() % UInt64(clips.count)), length: length, rng: &rng) }
        return out
    }

    /// One random window of clip `index` (see ``randomWindows(batch:length:rng:)``).
    public func randomWindow(of index: Int, length: Int, rng: inout SeededRNG) -> [Int] {
        var out = [Int](repeating: quantizer.zero, count: length)
        let c = clips[index].classes
        if c.count >= length {
            let start = Int(rng.next() % UInt64(c.count - length + 1))
            for t in 0..<length { out[t] = Int(c[start + t]) }
        } else {
            let offset = Int(rng.next() % UInt64(length - c.count + 1))
            for t in 0..<c.count { out[offset + t] = Int(c[t]) }
        }
        return out
    }

    /// Clip `index` cut or padded with silence to `length`, from its start (centred when shorter).
    public func centredWindow(of index: Int, length: Int) -> [Int] {
        var out = [Int](repeating: quantizer.zero, count: length)
        let c = clips[index].classes
        let offset = max(0, (length - c.count) / 2)
        for t in 0..<min(length, c.count) { out[offset + t] = Int(c[t]) }
        return out
    }

    /// The parent folder of each clip's file: the class of `root/<class>/<file>`.
    public var folderLabels: [String] { clips.map { URL(fileURLWithPath: $0.file).deletingLastPathComponent().lastPathComponent } }

    /// Every clip cut into consecutive windows of `length` from its start, the last one padded with
    /// silence: `(window classes, number of real samples)` — for evaluation, which counts real samples only.
    public func evaluationWindows(length: Int) -> [(classes: [Int], valid: Int)] {
        var out: [([Int], Int)] = []
        for clip in clips {
            var start = 0
            while start < clip.classes.count {
                let n = min(length, clip.classes.count - start)
                var w = [Int](repeating: quantizer.zero, count: length)
                for t in 0..<n { w[t] = Int(clip.classes[start + t]) }
                out.append((w, n))
                start += length
            }
        }
        return out
    }
}
