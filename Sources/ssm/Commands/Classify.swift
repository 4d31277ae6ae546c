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
        abstract: "Classify images and videos of any size with S4ND classifiers, and audio files with the audio classifier.",
        discussion: """
            One result per file, in the order given; folders are searched recursively for files with \
            an image, video or audio extension. Each file is routed by its content, not its name: \
            still images (PNG, JPEG, WebP, BMP, TIFF, a one-frame GIF, …) go to the image model, \
            videos (mp4, mkv, webm, avi, animated GIF, …) to the video model, audio to the audio \
            classifier.

            Images run at their own size (the model sets rate = training size / input size per \
            axis) unless --size resizes them first with MediaIO's antialiased resize; gray and color \
            are converted to the model's channels. Videos give --frames frames (default: the video \
            model's training frames) evenly spaced over the whole clip, at the clip's size or --size.

            --format json (default), one line per file:
              {"file": "a.png", "label": "shirt", "score": 0.87,
               "top_k": [{"label": "shirt", "score": 0.87}, ...], "size": [28, 28]}
            "size" is [height, width] as the model ran (videos: [frames, height, width], and \
            "frames"); audio has "seconds" \
            instead of "size". --format csv: a header, then file,label,score,height,width,top_k,error \
            with top_k as "label:score;label:score".
            A file that cannot be read or classified gets {"file", "error"} (or a CSV row with only \
            file and error); the others are still classified, and the exit status is 1.

            Models: --model, else $SSM_MODEL, else models/fashion-mnist-s4nd.safetensors in the \
            package the ssm binary was built in; --video-model, else $SSM_VIDEO_MODEL, else \
            models/moving-items-s4nd.safetensors; --audio-classifier, else $SSM_AUDIO_CLASSIFIER, \
            else models/spoken-digits-classifier.safetensors. A model is loaded only when a file \
            of its kind comes.

            Examples:
              ssm classify samples/images/
              ssm classify photo.png --top-k 5
              ssm classify scans/ --size 28 --format csv > labels.csv
              ssm classify --model runs/fashion/model.safetensors a.png b.png
              ssm classify clip.mp4 --frames 16 photo.jpg
            """)

    @Argument(help: "Image, video or audio files, or folders.")
    var paths: [String] = []

    @Option(help: "Model file (default: $SSM_MODEL or the shipped models/fashion-mnist-s4nd.safetensors).")
    var model: String?

    @Option(name: .customLong("top-k"), help: "Classes listed per file, most probable first (at most the model's class count).")
    var topK: Int = 3

    @Option(help: "Resize every image to N or HxW first (default: classify at the image's own size).", transform: ImageSize.argument)
    var size: ImageSize?

    @Option(help: "json (one line per file) or csv.")
    var format: Format = .json

    @Option(name: .customLong("video-model"), help: "Video classifier for video files (default: $SSM_VIDEO_MODEL or the shipped models/moving-items-s4nd.safetensors).")
    var videoModelPath: String?

    @Option(help: "Frames per video clip, evenly spaced over the clip (default: the video model's training frames).")
    var frames: Int?

    @Option(name: .customLong("audio-classifier"), help: "Audio classifier for audio files (default: $SSM_AUDIO_CLASSIFIER or the shipped models/spoken-digits-classifier.safetensors).")
    var audioClassifier: String?

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one image, video or audio file, or a folder") }
        if let frames, !(1...4096).contains(frames) { throw ValidationError("--frames must be in 1…4096 (got \(frames))") }
        if topK < 1 { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        try size?.checkModelInput()
    }

    /// The files to classify, in order: each file as named; each folder walked recursively for
    /// files with an image, video or audio extension (hidden entries skipped). A folder with none
    /// is kept as itself, to be reported.
    func expandedPaths() -> (files: [String], emptyFolders: Set<String>) {
        var files: [String] = [], empty: Set<String> = []
        let known = SampleKind.image.extensions.union(SampleKind.video.extensions).union(AudioDataset.extensions)
        for p in paths {
            guard SystemPath.status(p)?.isDirectory == true else { files.append(p); continue }
            let found = FolderWalker.list(p, recursive: true) { known.contains(($0 as NSString).pathExtension.lowercased()) }.files
            if found.isEmpty { empty.insert(p); files.append(p) } else { files += found }
        }
        return (files, empty)
    }

    /// What a file holds, read from its content (not its name).
    func kind(of file: String) throws -> MediaKind {
        do { return try MediaProbe.probe(file).kind } catch let e as MediaError {
            // A damaged file of a known extension is still reported as that kind's failure.
            if case .unsupported = e.reason { throw e }
            let ext = (file as NSString).pathExtension.lowercased()
            if SampleKind.image.extensions.contains(ext) && ext != "gif" { return .image }
            throw e
        }
    }

    func run() throws {
        let (files, emptyFolders) = expandedPaths()
        if format == .csv { Stdout.line("file,label,score,height,width,top_k,error") }
        var failed = 0
        // Models are loaded when the first file of their kind comes.
        var imageModel: ImageClassifier?, videoModel: ImageClassifier?, audioModel: AudioClassifier?
        func emit(_ file: String, _ result: Result<FileClassification, Error>, seconds: Double? = nil) {
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
                    if let seconds { line.add("seconds", seconds) } else {
                        line.add("size", .ints(r.size))
                        if r.size.count == 3 { line.add("frames", r.size[0]) }
                    }
                    line.print()
                } else {
                    let top = r.top.map { "\($0.label):\(Self.number($0.score))" }.joined(separator: ";")
                    let hw = r.size.count >= 2 ? [String(r.size[r.size.count - 2]), String(r.size[r.size.count - 1])] : ["", ""]
                    Stdout.line(([file, r.label, Self.number(r.score)] + hw + [top, ""]).map(Self.csv).joined(separator: ","))
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
        // Consecutive images run together (batched by size); videos and audio one at a time; all in order.
        var pendingImages: [String] = []
        func flushImages() throws {
            guard !pendingImages.isEmpty else { return }
            if imageModel == nil { imageModel = try loadClassifier(model).0 }
            guard let m = imageModel, m.axes == 2 else { throw CommandError("\(model ?? "the model"): is a video model; name an image model with --model") }
            Classification.classify(pendingImages, model: m, topK: topK, size: size) { file, result in emit(file, result) }
            pendingImages = []
        }
        for file in files {
            if emptyFolders.contains(file) {
                try flushImages()
                emit(file, .failure(ClassificationError(file: file, kind: .empty, reason: "folder has no image, video or audio files")))
                continue
            }
            let kind: MediaKind
            do { kind = try self.kind(of: file) } catch {
                try flushImages(); emit(file, .failure(error)); continue
            }
            switch kind {
            case .image:
                pendingImages.append(file)
            case .video:
                try flushImages()
                if videoModel == nil { videoModel = try loadClassifier(videoModelPath, video: true).0 }
                guard let m = videoModel, m.axes == 3 else { throw CommandError("\(videoModelPath ?? "the video model"): is an image model; name a video model with --video-model") }
                emit(file, Result { try Classification.classifyClip(file, model: m, topK: topK, frames: frames, size: size) })
            case .audio:
                try flushImages()
                if audioModel == nil { audioModel = try loadAudioClassifier(audioClassifier) }
                let m = audioModel!
                let c = m.config
                var seconds = 0.0
                emit(file, Result {
                    let clip = try AudioDataset.clip(file, sampleRate: c.sampleRate, quantizer: c.quantization)
                    guard !clip.classes.isEmpty else { throw MediaError(file: file, reason: .empty) }
                    seconds = Double(clip.classes.count) / Double(c.sampleRate)
                    let p = try AudioClassification.probabilities(m, AudioDataset(clips: [clip], sampleRate: c.sampleRate, quantizer: c.quantization))[0]
                    guard p.allSatisfy({ $0.isFinite }) else { throw ClassificationError(file: file, kind: .nonFinite, reason: "the classifier produced non-finite scores") }
                    return FileClassification(file: file, size: [], top: Classification.topK(p.map { Float($0) }[...], k: min(topK, p.count), labels: c.classNames))
                }, seconds: seconds)
            }
        }
        try flushImages()
        fflush(stdout)
        if failed > 0 {
            Stderr.line("classify: \(failed) of \(files.count) file(s) failed")
            throw ExitCode(1)
        }
    }

    static func number(_ x: Float) -> String { String(format: "%.6g", Double(x)) }

    /// A CSV field, quoted when needed (RFC 4180).
    static func csv(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
