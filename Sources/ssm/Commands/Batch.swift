import ArgumentParser
import Foundation
import MediaIO
import S4ND
import Sashimi
import SSMCore
import Workflows

/// `ssm batch DIR... --out OUT`: every file of a corpus through the model of its kind, resumable
/// and shardable.
struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every file under folders through the model of its kind; resumable, shardable, one JSON line per file.",
        discussion: """
            Walks the folders recursively (each real file once: symbolic-link loops are detected; \
            hidden files are skipped and counted), sorts the files by path, and routes each by its \
            content: an image gets class scores from the image model, a video from the video model, \
            an audio file its negative log-likelihood in bits per sample under the SaShiMi model \
            (as `ssm score` scores it) \
            (and, with --continue S, a continuation WAV: the file followed by S generated seconds). \
            Any other file gets an error line.

            OUT/results.jsonl gets one JSON line per file, appended and flushed only when the file's \
            work is complete:
              {"file", "kind": "image"|"video"|"audio", "bytes", "mtime", ...result}  or  {"file", "error"}
            image/video: "label", "score", "top_k", "size" (videos add "frames"); audio: "samples", \
            "seconds", "bits_per_sample" and "continuation" (continuations/<name>.wav under OUT, \
            written to a temporary name and renamed before its line). Nothing partial is ever left.

            Resuming: run the same command again. Files already in results.jsonl with the same size \
            and modification time are skipped (a changed file is done again and its old line \
            dropped); a line cut off by a kill is dropped. --retry-errors also redoes the files \
            whose line is an error. Exit status: 0 only when every file of this run's list has a \
            result; 1 when any has an error line.

            Sharding: --shard-index I --num-shards N takes every N-th file of the sorted list from \
            the I-th (0-based), so N processes split a corpus with no coordinator. Defaults: \
            $SLURM_ARRAY_TASK_ID (minus $SLURM_ARRAY_TASK_MIN) and $SLURM_ARRAY_TASK_COUNT in a Slurm \
            array job, $JOB_COMPLETION_INDEX (with --num-shards) in a Kubernetes indexed Job. \
            `ssm batch --merge OUT1 OUT2 ... --out OUT` merges shard outputs into one results file \
            sorted by path, with their continuation WAVs (the same output as one process over the \
            whole corpus). See \
            docs/batch.md for a Slurm script and a Kubernetes manifest.

            Decoding the next files overlaps the model on the current ones. Progress (files/s, ETA) \
            on standard error.

            Examples:
              ssm batch samples --out out/
              ssm batch /data/corpus --out out/ --continue 0.5
              ssm batch /data/corpus --out out/shard-3 --shard-index 3 --num-shards 8
              ssm batch --merge out/shard-* --out out/all
            """)

    @Argument(help: "Folders (or files) to process; with --merge, the shard output folders.")
    var paths: [String] = []

    @Option(help: "Output folder: results.jsonl and per-file outputs (created if missing).")
    var out: String

    @Option(help: "Image classifier (default: $SSM_MODEL or the shipped models/fashion-mnist-s4nd.safetensors).")
    var model: String?

    @Option(name: .customLong("video-model"), help: "Video classifier (default: $SSM_VIDEO_MODEL or the shipped models/moving-items-s4nd.safetensors).")
    var videoModel: String?

    @Option(name: .customLong("audio-model"), help: "SaShiMi audio model (default: $SSM_AUDIO_MODEL or the shipped models/spoken-digits-sashimi.safetensors).")
    var audioModel: String?

    @Option(name: .customLong("continue"), help: "Seconds of audio to generate after each audio file (default: none).")
    var continueSeconds: Double?

    @Option(name: .customLong("top-k"), help: "Classes listed per image or video (default 3).")
    var topK: Int = 3

    @Option(help: "Frames per video clip (default: the video model's training frames).")
    var frames: Int?

    @Option(help: "Resize every image and video frame to N or HxW first (default: own size).", transform: ImageSize.argument)
    var size: ImageSize?

    @Option(name: .customLong("shard-index"), help: "This process's shard, 0-based (default: from Slurm or Kubernetes variables, else 0).")
    var shardIndex: Int?

    @Option(name: .customLong("num-shards"), help: "Number of shards (default: $SLURM_ARRAY_TASK_COUNT, else 1).")
    var numShards: Int?

    @Flag(name: .customLong("retry-errors"), help: "Also redo files whose earlier line is an error.")
    var retryErrors = false

    @Flag(help: "Merge the results of the shard folders given as arguments into --out.")
    var merge = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError(merge ? "give the shard output folders to merge" : "give at least one folder or file") }
        if topK < 1 { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        if let c = continueSeconds, !(c > 0 && c <= 600) { throw ValidationError("--continue must be in (0, 600] seconds (got \(c))") }
        if let frames, !(1...4096).contains(frames) { throw ValidationError("--frames must be in 1…4096 (got \(frames))") }
        try size?.checkModelInput()
        if let n = numShards, n < 1 { throw ValidationError("--num-shards must be at least 1 (got \(n))") }
    }

    /// (index, count) of this shard from the options and the environment.
    func shard(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (Int, Int) {
        func int(_ name: String) throws -> Int? {
            guard let v = environment[name], !v.isEmpty else { return nil }
            guard let i = Int(v) else { throw CommandError("$\(name) = '\(v)' is not an integer") }
            return i
        }
        var index = shardIndex, count = numShards
        if index == nil, let id = try int("SLURM_ARRAY_TASK_ID") {
            index = id - (try int("SLURM_ARRAY_TASK_MIN") ?? 0)
            if count == nil { count = try int("SLURM_ARRAY_TASK_COUNT") }
        }
        if index == nil, let k = try int("JOB_COMPLETION_INDEX") {
            guard count != nil else { throw CommandError("$JOB_COMPLETION_INDEX is set: give --num-shards (the Job's completions)") }
            index = k
        }
        let n = count ?? 1, i = index ?? 0
        guard (0..<n).contains(i) else { throw CommandError("shard index \(i) is outside 0..<\(n) (--shard-index, --num-shards)") }
        return (i, n)
    }

    func run() throws {
        let outURL = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true) }
        catch { throw CommandError("\(out): cannot create the output folder: \(FileErrorText.describe(error))") }
        if merge { return try mergeShards(into: outURL) }
        let (index, count) = try shard()
        var hidden = 0
        var all: [String] = []
        for p in paths {
            if SystemPath.status(p)?.isDirectory == true {
                let l = FolderWalker.list(p, recursive: true) { _ in true }
                all += l.files; hidden += l.hidden
            } else {
                all.append(p)
            }
        }
        // The output folder is never input (a rerun would find its own results and WAVs).
        let outPrefix = outURL.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        all = all.filter { !URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path.hasPrefix(outPrefix) }
        let files = BatchFiles.shard(Array(Set(all)).sorted(), index: index, count: count)
        let results = outURL.appendingPathComponent("results.jsonl")
        let mine = Set(files), everywhere = Set(all)
        // Earlier lines stay unless their file is this shard's and changed (or is retried), or is gone.
        let previous = try BatchResults.load(results, keep: { line in
            guard let file = line["file"] as? String, mine.contains(file) || !everywhere.contains(file) else { return true }
            if retryErrors && line["error"] != nil { return false }
            return BatchFiles.key(file) == BatchFiles.key(line)
        })
        let done = Set(previous.compactMap { $0.object["file"] as? String })
        var failedBefore = previous.filter { $0.object["error"] != nil && mine.contains(($0.object["file"] as? String) ?? "") }.count
        let todo = files.filter { !done.contains($0) }
        if hidden > 0 { Stderr.line("batch: skipped \(hidden) hidden file(s)") }
        Stderr.line("batch: \(files.count) file(s) in shard \(index) of \(count); \(files.count - todo.count) already done, \(todo.count) to do")

        let writer = try BatchResults.Appender(results)
        let runner = BatchRunner(options: self, outURL: outURL)
        let bar = ProgressLine(interval: 10)
        let started = Date()
        var finished = 0, failed = 0
        try runner.run(todo) { line, isError in
            try writer.append(line)
            finished += 1
            if isError { failed += 1 }
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double(finished) / max(elapsed, 1e-9)
            bar.update(String(format: "batch: %d/%d files, %.1f files/s, ETA ", finished, todo.count, rate)
                       + formatDuration(Double(todo.count - finished) / max(rate, 1e-9)), final: finished == todo.count)
        }
        bar.finish()
        failedBefore += failed
        let elapsed = Date().timeIntervalSince(started)
        Stderr.line(String(format: "batch: %d done in %.1f s (%.1f files/s), %d error(s) in this shard's %d files; results in %@",
                           finished, elapsed, Double(finished) / max(elapsed, 1e-9), failedBefore, files.count, results.path))
        if failedBefore > 0 { throw ExitCode(1) }
    }

    /// `--merge`: the shard folders' results, one line per file (the last seen), sorted by path.
    func mergeShards(into outURL: URL) throws {
        var byFile: [String: String] = [:]
        var failed = 0
        for p in paths {
            let url = URL(fileURLWithPath: p).appendingPathComponent("results.jsonl")
            guard FileManager.default.fileExists(atPath: url.path) else { throw CommandError("\(url.path): no such file (not a batch output folder?)") }
            for line in try BatchResults.load(url, keep: { _ in true }) {
                byFile[line.object["file"] as! String] = line.text
            }
        }
        let merged = byFile.keys.sorted().map { byFile[$0]! }
        // Per-file outputs come along, so the merged folder stands on its own.
        let fm = FileManager.default
        let target = outURL.appendingPathComponent("continuations")
        for p in paths {
            let folder = URL(fileURLWithPath: p).appendingPathComponent("continuations")
            guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names where !name.hasPrefix(".") {
                do {
                    try fm.createDirectory(at: target, withIntermediateDirectories: true)
                    let dest = target.appendingPathComponent(name)
                    if fm.fileExists(atPath: dest.path) { try fm.removeItem(at: dest) }
                    try fm.copyItem(at: folder.appendingPathComponent(name), to: dest)
                } catch { throw CommandError("\(target.path)/\(name): cannot copy: \(FileErrorText.describe(error))") }
            }
        }
        failed = merged.filter { $0.contains("\"error\":") }.count
        let results = outURL.appendingPathComponent("results.jsonl")
        do { try AtomicFile.write(Data(merged.map { $0 + "\n" }.joined().utf8), to: results) }
        catch { throw CommandError("\(results.path): cannot write: \(FileErrorText.describe(error))") }
        Stderr.line("batch --merge: \(merged.count) file(s) from \(paths.count) shard(s), \(failed) error(s); results in \(results.path)")
        if failed > 0 { throw ExitCode(1) }
    }
}

/// The sorted file list, its shards and the identity of a file.
enum BatchFiles {
    /// Every `count`-th file from the `index`-th: the shards partition the list.
    static func shard(_ files: [String], index: Int, count: Int) -> [String] {
        stride(from: index, to: files.count, by: count).map { files[$0] }
    }

    /// (bytes, modification time in UTC to the microsecond) of `file` now, or nil when it cannot be read.
    static func key(_ file: String) -> Key? {
        guard let st = SystemPath.status(file), !st.isDirectory else { return nil }
        var t = time_t(st.modified.seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                          Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), st.modified.nanoseconds / 1000)
        return Key(bytes: st.size, mtime: text)
    }

    /// The (bytes, mtime) a results line recorded.
    static func key(_ line: [String: Any]) -> Key? {
        guard let b = line["bytes"] as? Int, let m = line["mtime"] as? String else { return nil }
        return Key(bytes: b, mtime: m)
    }

    struct Key: Equatable { var bytes: Int; var mtime: String }
}

/// Reading and appending `results.jsonl`.
enum BatchResults {
    /// The complete, valid lines of `url` that `keep` accepts; when any line is dropped (a line
    /// cut off by a kill, a stale or retried file), the file is rewritten atomically without it.
    static func load(_ url: URL, keep: ([String: Any]) -> Bool) throws -> [(object: [String: Any], text: String)] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw CommandError("\(url.path): cannot read: \(FileErrorText.describe(error))") }
        var kept: [(object: [String: Any], text: String)] = []
        var dropped = false
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (i, raw) in lines.enumerated() {
            if raw.isEmpty { continue }
            // The last line without a newline was cut off mid-write.
            let complete = i < lines.count - 1
            guard complete, var object = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any], let file = object["file"] as? String else {
                dropped = true; continue
            }
            object["file"] = SystemPath.fromDisplay(file)   // names that are not UTF-8 are stored escaped
            if keep(object) { kept.append((object, String(decoding: raw, as: UTF8.self))) } else { dropped = true }
        }
        if dropped {
            do { try AtomicFile.write(Data(kept.map { $0.text + "\n" }.joined().utf8), to: url) }
            catch { throw CommandError("\(url.path): cannot rewrite: \(FileErrorText.describe(error))") }
        }
        return kept
    }

    /// Appends one line at a time, each written whole and flushed to the file.
    final class Appender {
        let handle: FileHandle
        let path: String
        init(_ url: URL) throws {
            path = url.path
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            guard let h = FileHandle(forWritingAtPath: path) else { throw CommandError("\(path): cannot open for writing") }
            handle = h
            handle.seekToEndOfFile()
        }
        deinit { try? handle.close() }
        func append(_ line: JSONLine) throws {
            do {
                try handle.write(contentsOf: Data((line.text + "\n").utf8))
                try handle.synchronize()
            } catch { throw CommandError("\(path): cannot write: \(FileErrorText.describe(error))") }
        }
    }
}

/// Decodes files (in the background, a few ahead) and runs the model of each one's kind.
final class BatchRunner {
    let options: Batch
    let outURL: URL
    var imageModel: ImageClassifier?, videoModel: ImageClassifier?, audioModel: SashimiAudioModel?

    init(options: Batch, outURL: URL) { self.options = options; self.outURL = outURL }

    /// A file read and ready for its model.
    enum Input {
        case image(Image)
        case video([Float], [Int])
        case audio(AudioClip)
    }

    /// Models are loaded when the first file of their kind comes (so a corpus without videos
    /// needs no video model).
    func image() throws -> ImageClassifier {
        if let imageModel { return imageModel }
        let m = try fatal { try loadClassifier(options.model).0 }
        guard m.axes == 2 else { throw Fatal("\(options.model ?? "the image model") is a video model; name an image model with --model") }
        imageModel = m
        return m
    }
    func video() throws -> ImageClassifier {
        if let videoModel { return videoModel }
        let m = try fatal { try loadClassifier(options.videoModel, video: true).0 }
        guard m.axes == 3 else { throw Fatal("\(options.videoModel ?? "the video model") is an image model; name a video model with --video-model") }
        videoModel = m
        return m
    }
    func audio() throws -> SashimiAudioModel {
        if let audioModel { return audioModel }
        audioModel = try fatal { try loadAudioModel(options.audioModel).0 }
        return audioModel!
    }

    /// A model that cannot be loaded stops the batch (every file of its kind would fail alike).
    struct Fatal: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
    func fatal<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw Fatal("\(error)") }
    }

    /// A file whose kind's model was not loaded before decoding started.
    struct NeedModel: Error { var kind: MediaKind }

    /// Reads `file` by its content in the layout of its kind's model (``NeedModel`` when that
    /// model is not given).
    func decode(_ file: String, image: ImageClassifier?, video: ImageClassifier?, audio: SashimiAudioModel?) -> Result<Input, Error> {
        Result {
            switch try MediaProbe.probe(file).kind {
            case .image:
                guard let image else { throw NeedModel(kind: .image) }
                return .image(try Classification.load(file, channels: image.config.inputChannels, size: options.size))
            case .video:
                guard let video else { throw NeedModel(kind: .video) }
                let T = options.frames ?? video.config.trainSize[0]
                let (pixels, grid) = try Samples.clip(file, frames: T, gray: video.config.inputChannels == 1,
                                                      height: options.size?.height, width: options.size?.width)
                return .video(pixels, grid)
            case .audio:
                guard let audio else { throw NeedModel(kind: .audio) }
                let clip = try AudioDataset.clip(file, sampleRate: audio.config.sampleRate, quantizer: audio.config.quantization)
                guard !clip.classes.isEmpty else { throw MediaError(file: file, reason: .empty) }
                return .audio(clip)
            }
        }
    }

    /// The model's answer for a decoded file, as the fields of its line.
    func process(_ file: String, _ input: Input, into line: inout JSONLine) throws {
        switch input {
        case .image(let img):
            let m = try image()
            let top = try Classification.scores(m, Tensor(shape: [1, img.channels, img.height, img.width], data: img.pixels),
                                                topK: options.topK, file: file)
            line.add("kind", "image")
            add(top, size: [img.height, img.width], to: &line)
        case .video(let pixels, let grid):
            let m = try video()
            let top = try Classification.scores(m, Tensor(shape: [1, m.config.inputChannels] + grid, data: pixels), topK: options.topK, file: file)
            line.add("kind", "video")
            add(top, size: grid, to: &line)
            line.add("frames", grid[0])
        case .audio(let clip):
            let m = try audio()
            let rate = m.config.sampleRate
            let r = try AudioEvaluation.bitsPerSample(m, clip: clip)      // as `ssm score` scores it
            guard r.bits.isFinite else { throw ClassificationError(file: file, kind: .nonFinite, reason: "the model produced non-finite scores") }
            line.add("kind", "audio")
            line.add("samples", clip.classes.count)
            line.add("seconds", Double(clip.classes.count) / Double(rate))
            line.add("bits_per_sample", r.bits)
            if let seconds = options.continueSeconds {
                line.add("continuation", try continuation(file, clip, model: m, seconds: seconds))
            }
        }
    }

    func add(_ top: [LabelScore], size: [Int], to line: inout JSONLine) {
        line.add("label", top[0].label)
        line.add("score", Double(top[0].score))
        line.add("top_k", .array(top.map { t in var o = JSONLine(); o.add("label", t.label); o.add("score", Double(t.score)); return .object(o) }))
        line.add("size", .ints(size))
    }

    /// Writes the file followed by `seconds` of generated audio to OUT/continuations/<stem>-<hash>.wav
    /// (temporary name, then renamed) and returns that path relative to OUT; the seed comes from
    /// the path, so a rerun gives the same bytes.
    func continuation(_ file: String, _ clip: AudioClip, model m: SashimiAudioModel, seconds: Double) throws -> String {
        let q = m.config.quantization
        let hash = fnv1a(file.utf8)
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let folder = outURL.appendingPathComponent("continuations")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let target = folder.appendingPathComponent(String(format: "%@-%08x.wav", stem, UInt32(truncatingIfNeeded: hash)))
        let temporary = folder.appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        let samples = Int((seconds * Double(m.config.sampleRate)).rounded())
        let result = try AudioGeneration.generate(m, samples: samples, count: 1, prompts: [(stem, clip.classes.map(Int.init))],
                                                  sampling: SamplingOptions(), seed: hash, threads: 1)[0]
        do {
            let writer = try WAVStreamWriter(path: temporary.path, sampleRate: m.config.sampleRate)
            try writer.write(result.classes.map { q.decode($0) })
            try writer.finish()
            // rename(2) replaces the target in one step.
            guard rename(temporary.path, target.path) == 0 else { throw CommandError(String(cString: strerror(errno))) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw CommandError("\(target.path): cannot write the continuation: \(FileErrorText.describe(error))")
        }
        return "continuations/" + target.lastPathComponent
    }

    /// Runs `files` in order, calling `emit` with each file's complete line. Files are decoded a
    /// chunk ahead on a background queue while the models run on the current chunk.
    func run(_ files: [String], emit: (JSONLine, _ isError: Bool) throws -> Void) throws {
        guard !files.isEmpty else { return }
        // Models a chunk seems to need (by file name) load before its decoding starts; a file
        // whose content says otherwise loads its model when its turn comes.
        let chunk = 8
        let queue = DispatchQueue(label: "ssm.batch.decode")
        // The decoding queue fills the slot; the group's wait orders that write before the read.
        final class Slot: @unchecked Sendable { var inputs: [Result<Input, Error>] = [] }
        var slot = Slot()
        var pending: DispatchGroup? = nil
        func startDecoding(_ range: Range<Int>) throws {
            let (i, v, a) = (try needed(.image, in: files[range]) ? image() : nil,
                             try needed(.video, in: files[range]) ? video() : nil,
                             try needed(.audio, in: files[range]) ? audio() : nil)
            let group = DispatchGroup()
            let slice = Array(files[range])
            let target = Slot()
            group.enter()
            queue.async {
                target.inputs = slice.map { self.decode($0, image: i, video: v, audio: a) }
                group.leave()
            }
            pending = group
            slot = target
        }
        try startDecoding(0..<min(chunk, files.count))
        var start = 0
        while start < files.count {
            pending!.wait()
            let inputs = slot.inputs
            let end = min(start + chunk, files.count)
            if end < files.count { try startDecoding(end..<min(end + chunk, files.count)) }
            for (k, input) in inputs.enumerated() {
                let file = files[start + k]
                var line = JSONLine()
                line.add("file", file)
                if let key = BatchFiles.key(file) { line.add("bytes", key.bytes); line.add("mtime", key.mtime) }
                do {
                    var decoded = input
                    if case .failure(let need as NeedModel) = input {
                        // Named like another kind: load its model now and decode here.
                        switch need.kind {
                        case .image: decoded = decode(file, image: try image(), video: nil, audio: nil)
                        case .video: decoded = decode(file, image: nil, video: try video(), audio: nil)
                        case .audio: decoded = decode(file, image: nil, video: nil, audio: try audio())
                        }
                    }
                    try process(file, try decoded.get(), into: &line)
                } catch let e as Fatal {
                    throw CommandError(e.description)
                } catch {
                    line = JSONLine()
                    line.add("file", file)
                    if let key = BatchFiles.key(file) { line.add("bytes", key.bytes); line.add("mtime", key.mtime) }
                    line.add("error", errorText(error, file: file))
                    try emit(line, true)
                    continue
                }
                try emit(line, false)
            }
            start = end
        }
    }

    /// Whether any of `files` looks like `kind` by name (to load its model before decoding;
    /// routing itself is by content).
    func needed(_ kind: MediaKind, in files: ArraySlice<String>) throws -> Bool {
        files.contains { f in
            let ext = (f as NSString).pathExtension.lowercased()
            switch kind {
            case .image: return SampleKind.image.extensions.contains(ext) || !known(ext)
            case .video: return SampleKind.video.extensions.contains(ext) || !known(ext)
            case .audio: return AudioDataset.extensions.contains(ext) || !known(ext)
            }
        }
    }

    func known(_ ext: String) -> Bool {
        SampleKind.image.extensions.contains(ext) || SampleKind.video.extensions.contains(ext) || AudioDataset.extensions.contains(ext)
    }
}
