import ArgumentParser
import Foundation
import MediaIO
import S4ND
import Sashimi
import Workflows

/// `ssm classify FILES|DIRS...`: labels for images of any size.
struct Classify: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv }

    static let configuration = CommandConfiguration(
        abstract: "Classify PNG images of any size with an S4ND classifier, and audio files with the audio classifier.",
        discussion: """
            One result per file, in the order given; folders are searched recursively for *.png. \
            Each image runs at its own size (the model sets rate = training size / input size per \
            axis) unless --size resizes it first with MediaIO's antialiased resize. Gray and color \
            images are converted to the model's channels.

            --format json (default), one line per file:
              {"file": "a.png", "label": "shirt", "score": 0.87,
               "top_k": [{"label": "shirt", "score": 0.87}, ...], "size": [28, 28]}
            --format csv: a header, then file,label,score,height,width,top_k,error with top_k as \
            "label:score;label:score".
            A file that cannot be read or classified gets {"file", "error"} (or a CSV row with only \
            file and error); the others are still classified, and the exit status is 1.

            Model: --model, else $SSM_MODEL, else models/fashion-mnist-s4nd.safetensors in the \
            package the ssm binary was built in.

            Audio files (wav, flac, ogg, … named directly, or folders of them without PNGs) go to the \
            1-D S4 audio classifier (--audio-classifier, else $SSM_AUDIO_CLASSIFIER, else \
            models/spoken-digits-classifier.safetensors) and are listed after the images, with \
            "seconds" in place of "size".

            Examples:
              ssm classify samples/images/
              ssm classify photo.png --top-k 5
              ssm classify scans/ --size 28 --format csv > labels.csv
              ssm classify --model runs/fashion/model.safetensors a.png b.png
            """)

    @Argument(help: "PNG or audio files, or folders.")
    var paths: [String] = []

    @Option(help: "Model file (default: $SSM_MODEL or the shipped models/fashion-mnist-s4nd.safetensors).")
    var model: String?

    @Option(name: .customLong("top-k"), help: "Classes listed per file, most probable first (at most the model's class count).")
    var topK: Int = 3

    @Option(help: "Resize every image to N or HxW first (default: classify at the image's own size).")
    var size: ImageSize?

    @Option(help: "json (one line per file) or csv.")
    var format: Format = .json

    @Option(name: .customLong("audio-classifier"), help: "Audio classifier for audio files (default: $SSM_AUDIO_CLASSIFIER or the shipped models/spoken-digits-classifier.safetensors).")
    var audioClassifier: String?

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one PNG file or folder") }
        if topK < 1 { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        if let size, size.height < Classification.minSide || size.width < Classification.minSide {
            throw ValidationError("--size must be at least \(Classification.minSide)x\(Classification.minSide) (got \(size))")
        }
    }

    /// Audio files named directly, and folders with audio files but no PNGs.
    func audioFiles() -> (audio: [String], rest: [String]) {
        var audio: [String] = [], rest: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: p, isDirectory: &isDir)
            if exists && !isDir.boolValue && AudioDataset.extensions.contains((p as NSString).pathExtension.lowercased()) { audio.append(p) }
            else if exists && isDir.boolValue && Classification.expand([p]).isEmpty, let found = try? AudioDataset.list(p), !found.isEmpty { audio += found }
            else { rest.append(p) }
        }
        return (audio, rest)
    }

    /// Classifies audio files with the audio classifier, in the same output format.
    func classifyAudio(_ files: [String]) throws -> Int {
        let model = try loadAudioClassifier(audioClassifier)
        let c = model.config
        var failed = 0
        for f in files {
            var line = JSONLine()
            line.add("file", f)
            do {
                let clip = try AudioDataset.clip(f, sampleRate: c.sampleRate, quantizer: c.quantization)
                guard !clip.classes.isEmpty else { throw MediaError(file: f, reason: .empty) }
                let p = try AudioClassification.probabilities(model, AudioDataset(clips: [clip], sampleRate: c.sampleRate, quantizer: c.quantization))[0]
                guard p.allSatisfy({ $0.isFinite }) else { throw CommandError("the classifier produced non-finite scores") }
                let order = p.indices.sorted { p[$0] > p[$1] }.prefix(min(topK, p.count))
                if format == .json {
                    line.add("label", c.classNames[order.first!])
                    line.add("score", p[order.first!])
                    line.add("top_k", .array(order.map { i in var o = JSONLine(); o.add("label", c.classNames[i]); o.add("score", p[i]); return .object(o) }))
                    line.add("seconds", Double(clip.classes.count) / Double(c.sampleRate))
                    line.print()
                } else {
                    let top = order.map { "\(c.classNames[$0]):\(Self.number(Float(p[$0])))" }.joined(separator: ";")
                    Stdout.line([f, c.classNames[order.first!], Self.number(Float(p[order.first!])), "", "", top, ""].map(Self.csv).joined(separator: ","))
                }
            } catch {
                failed += 1
                if format == .json { line.add("error", errorText(error, file: f)); line.print() }
                else { Stdout.line([f, "", "", "", "", "", errorText(error, file: f)].map(Self.csv).joined(separator: ",")) }
            }
        }
        return failed
    }

    func run() throws {
        let (audio, imagePaths) = audioFiles()
        if imagePaths.isEmpty {
            if format == .csv { Stdout.line("file,label,score,height,width,top_k,error") }
            let failed = try classifyAudio(audio)
            fflush(stdout)
            if failed > 0 { Stderr.line("classify: \(failed) of \(audio.count) file(s) failed"); throw ExitCode(1) }
            return
        }
        let (classifier, _) = try loadClassifier(model)
        // Folders without PNGs are reported, not silently skipped.
        var files: [String] = []
        var emptyFolders: Set<String> = []
        for p in imagePaths {
            let found = Classification.expand([p])
            var isDir: ObjCBool = false
            if found.isEmpty, FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                emptyFolders.insert(p); files.append(p)
            } else {
                files += found
            }
        }
        if format == .csv { Stdout.line("file,label,score,height,width,top_k,error") }
        var failed = 0
        func emit(_ file: String, _ result: Result<FileClassification, Error>) {
            switch result {
            case .success(let r):
                if format == .json {
                    var line = JSONLine()
                    line.add("file", file)
                    line.add("label", r.label)
                    line.add("score", Double(r.score))
                    line.add("top_k", .array(r.top.map { t in
                        var o = JSONLine(); o.add("label", t.label); o.add("score", Double(t.score)); return .object(o)
                    }))
                    line.add("size", .ints(r.size))
                    line.print()
                } else {
                    let top = r.top.map { "\($0.label):\(Self.number($0.score))" }.joined(separator: ";")
                    Stdout.line([file, r.label, Self.number(r.score), String(r.size[0]), String(r.size[1]), top, ""].map(Self.csv).joined(separator: ","))
                }
            case .failure(let e):
                failed += 1
                let text = errorText(e, file: file)
                if format == .json {
                    var line = JSONLine()
                    line.add("file", file)
                    line.add("error", text)
                    line.print()
                } else {
                    Stdout.line([file, "", "", "", "", "", text].map(Self.csv).joined(separator: ","))
                }
            }
        }
        let toClassify = files.filter { !emptyFolders.contains($0) }
        var position = 0
        // Results come back in order; folders without PNGs are reported where they were named.
        func flushFolders() {
            while position < files.count, emptyFolders.contains(files[position]) {
                emit(files[position], .failure(ClassificationError(file: files[position], reason: "folder has no .png files")))
                position += 1
            }
        }
        flushFolders()
        Classification.classify(toClassify, model: classifier, topK: topK, size: size) { file, result in
            emit(file, result)
            position += 1
            flushFolders()
        }
        if !audio.isEmpty { failed += try classifyAudio(audio) }
        fflush(stdout)
        if failed > 0 {
            Stderr.line("classify: \(failed) of \(files.count + audio.count) file(s) failed")
            throw ExitCode(1)
        }
    }

    static func number(_ x: Float) -> String { String(format: "%.6g", Double(x)) }

    /// A CSV field, quoted when needed (RFC 4180).
    static func csv(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
