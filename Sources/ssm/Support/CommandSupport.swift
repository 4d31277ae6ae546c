import ArgumentParser
import Foundation
import MediaIO
import S4ND
import Sashimi
import Workflows

extension ImageSize: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public static var defaultCompletionKind: CompletionKind { .default }

    /// `--size` as given, or an error saying what a size looks like and its range.
    static func argument(_ text: String) throws -> ImageSize {
        guard let size = ImageSize(parsing: text) else {
            throw ValidationError("--size '\(text)' is not a size: give N (square) or HxW (height first), each side 1…\(ImageSize.maxSide), e.g. --size 28 or --size 32x48")
        }
        return size
    }

    /// Refuses sizes an image model is not run on (the same limit as for images at their own size).
    func checkModelInput() throws {
        if let problem = Classification.sizeProblem(height: height, width: width) {
            throw ValidationError("--size \(self) (\(height) high × \(width) wide) is \(height * width) pixels: \(problem)")
        }
    }
}

/// A failure a command reports as one clear line on standard error (exit status 1).
struct CommandError: Error, CustomStringConvertible, LocalizedError {
    var description: String
    /// File-name bytes that are not UTF-8 appear as \xHH.
    init(_ message: String) { description = SystemPath.display(message) }
    var errorDescription: String? { description }
}

/// Standard error: messages and progress.
enum Stderr {
    static let isTerminal = isatty(2) == 1

    static func write(_ text: String) {
        StandardErrorGate.write(Data(SystemPath.display(text).utf8))
    }

    static func line(_ text: String) { write(text + "\n") }
}

/// Progress for long loops on standard error: a line redrawn in place on a terminal, otherwise one
/// line every `interval` seconds (and the last one). Safe to call from several threads.
final class ProgressLine: @unchecked Sendable {
    let interval: Double
    private var last = Date.distantPast
    private var drawn = false
    private let lock = NSLock()

    init(interval: Double = 10) { self.interval = interval }

    /// Shows `text`; `final` forces it out (and ends the terminal line).
    func update(_ text: String, final: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        if Stderr.isTerminal {
            guard final || now.timeIntervalSince(last) >= 0.1 else { return }
            last = now
            Stderr.write("\r\u{1B}[K" + text + (final ? "\n" : ""))
            drawn = !final
        } else {
            guard final || now.timeIntervalSince(last) >= interval else { return }
            last = now
            Stderr.line(text)
        }
    }

    /// Ends a line left open on a terminal.
    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawn { Stderr.write("\n"); drawn = false }
    }
}

/// `h:mm:ss` or `m:ss`.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--:--" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

/// Loads the classifier at `path`, or the default model when `path` is nil.
func loadClassifier(_ path: String?, video: Bool = false) throws -> (ImageClassifier, String) {
    let url: URL
    if let path { url = URL(fileURLWithPath: path) } else { url = try video ? DefaultModel.locateVideo() : DefaultModel.locate() }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
        throw CommandError("\(url.path): no such model file")
    }
    if isDir.boolValue { throw CommandError("\(url.path): is a folder, not a model file") }
    return (try ClassifierCheckpoint.load(url).0, url.path)
}

/// A grid size as people write it: `28x28` (height × width) or `16x32x32` (frames × height × width).
func sizeText(_ size: [Int]) -> String { size.map(String.init).joined(separator: "x") }

/// A media error as `"<reason>: <detail>"` (the file is reported beside it).
func errorText(_ error: Error, file: String) -> String {
    if let e = error as? MediaError { return "\(e.reason.name): \(e.reason.detail)" }
    if let e = error as? ClassificationError { return e.text }
    let text = "\(error)"
    return text.hasPrefix(file + ": ") ? String(text.dropFirst(file.count + 2)) : text
}

extension JSONValue {
    static func ints(_ values: [Int]) -> JSONValue { .array(values.map { .int($0) }) }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
}

/// Loads the SaShiMi audio model at `path`, or the default audio model when `path` is nil.
func loadAudioModel(_ path: String?) throws -> (SashimiAudioModel, String) {
    let url: URL
    if let path { url = URL(fileURLWithPath: path) } else { url = try DefaultModel.locateAudio() }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { throw CommandError("\(url.path): no such model file") }
    if isDir.boolValue { throw CommandError("\(url.path): is a folder, not a model file") }
    return (try AudioCheckpoint.load(url).0, url.path)
}

/// What `--resume` compares: a fingerprint of a data set's file list (names and sizes, FNV-1a).
enum DataFingerprint {
    static func of(_ files: [String]) -> String {
        let text = files.map { "\($0)\t\(SystemPath.status($0)?.size ?? -1)\n" }.joined()
        return String(format: "%016llx", fnv1a(text.utf8))
    }
}

/// 64-bit FNV-1a of `bytes` (fingerprints and seeds derived from names; not for security).
func fnv1a<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

/// An output folder that appears only when it is complete: the command writes into the hidden
/// ``staging`` folder beside the target, ``commit()`` renames it into place; until then (and on any
/// failure, when the value goes away) nothing is at the target.
final class StagedFolder {
    let target: URL
    let staging: URL
    private var committed = false

    /// Refuses a target that exists and is not an empty folder.
    init(_ out: String) throws {
        let fm = FileManager.default
        target = URL(fileURLWithPath: out).standardizedFileURL
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: target.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CommandError("\(out): exists and is not a folder") }
            guard ((try? fm.contentsOfDirectory(atPath: target.path)) ?? []).isEmpty else {
                throw CommandError("\(out): folder exists and is not empty; choose a new --out")
            }
        }
        let parent = target.deletingLastPathComponent()
        do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw CommandError("\(parent.path): cannot create folder: \(FileErrorText.describe(error))")
        }
        staging = parent.appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        try? fm.removeItem(at: staging)
        do { try fm.createDirectory(at: staging, withIntermediateDirectories: true) } catch {
            throw CommandError("\(out): cannot create its staging folder \(staging.lastPathComponent) beside it: \(FileErrorText.describe(error))")
        }
    }

    deinit { if !committed { try? FileManager.default.removeItem(at: staging) } }

    /// Moves the finished folder into place (replacing an empty folder there).
    func commit() throws {
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            try fm.moveItem(at: staging, to: target)
            committed = true
        } catch { throw CommandError("\(target.path): cannot move the finished folder into place: \(FileErrorText.describe(error))") }
    }
}
