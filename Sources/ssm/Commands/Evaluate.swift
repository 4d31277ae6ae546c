import ArgumentParser
import Foundation
import MediaIO
import S4ND
import Workflows

/// `ssm evaluate --data DIR [--size N ...]`: accuracy of a classifier per input size.
struct Evaluate: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case json, table }

    static let configuration = CommandConfiguration(
        abstract: "Accuracy of an image or video classifier on a folder of class folders, at one or more input sizes.",
        discussion: """
            For each size, every image of DIR/<class>/ is resized with MediaIO's antialiased resize \
            and classified; the model runs at that size with rate = training size / input size per \
            axis, so sizes other than the training size are zero-shot. Class folders must be classes \
            of the model (a class may have no folder). Without --size, the model's training size is \
            used. Without --model, the default model is used (see `ssm classify --help`).

            With a video model, DIR/<class>/ holds videos and --frames T gives the frames per clip \
            (evenly spaced over the whole clip; default: the model's). Every --frames is evaluated \
            at every --size; rate = training frames / T on the time axis, so 2T frames are the same \
            motion at twice the temporal resolution.

            --format json (default): one line per size,
              {"size": [28, 28], "accuracy": 0.91, "loss": 0.25, "count": 10000,
               "model": "...", "classes": [...], "confusion": [[...], ...], "skipped": [...]}
            where confusion[true][predicted] counts images and skipped lists the unreadable files \
            ({"file", "error"}; the exit status is 1 when there are any). --format table: a \
            Markdown table (size | accuracy) to paste into a README.

            Examples:
              ssm evaluate --data data/fashion/test
              ssm evaluate --data data/fashion/test --size 28 14 20 42 56 --format table
              ssm evaluate --data data/fashion/test --size 32x24 \\
                  --model runs/fashion/model.safetensors
              ssm evaluate --data data/moving/test --model models/moving-items-s4nd.safetensors \\
                  --frames 8 16 32 --size 16 32 64 --format table
            """)

    @Option(help: "Folder to evaluate on (DIR/<class>/<image or video file>).")
    var data: String

    @Option(help: "Model file (default: the shipped model or $SSM_MODEL).")
    var model: String?

    @Option(parsing: .upToNextOption, help: "Input sizes, each N or HxW (default: the model's training size).", transform: ImageSize.argument)
    var size: [ImageSize] = []

    @Option(parsing: .upToNextOption, help: "Frames per clip for a video model, each at least 1 (default: the model's training frames).")
    var frames: [Int] = []

    @Option(help: "json (one line per size) or table (Markdown).")
    var format: Format = .json

    @Option(name: .customLong("batch-size"), help: "Images per forward pass.")
    var batchSize: Int = 64

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        for s in size { try s.checkModelInput() }
        if let t = frames.first(where: { !(1...4096).contains($0) }) { throw ValidationError("--frames must be in 1…4096 (got \(t))") }
    }

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDir), isDir.boolValue else {
            throw CommandError("\(data): no such folder (expected an ImageFolder DIR/<class>/*.png)")
        }
        let (classifier, modelPath) = try loadClassifier(model)
        let trainSize = classifier.config.trainSize
        let isVideo = classifier.axes == 3
        if !isVideo && !frames.isEmpty { throw CommandError("--frames applies to video models; \(modelPath) classifies images") }
        let train = ImageSize(height: trainSize[trainSize.count - 2], width: trainSize[trainSize.count - 1])
        let sizes = size.isEmpty ? [train] : size
        // Grid sizes to run: every --frames at every --size for a video model.
        let grids: [[Int]] = isVideo ? (frames.isEmpty ? [trainSize[0]] : frames).flatMap { t in sizes.map { [t] + $0.array } } : sizes.map(\.array)
        let bar = ProgressLine(interval: 10)
        var rows: [([Int], EvaluationResult)] = []
        var skippedFiles: [MediaError] = []
        let noun = isVideo ? "clips" : "images"
        for (n, grid) in grids.enumerated() {
            let label = sizeText(grid)
            let (dataset, skipped) = try ModelData.load(data, for: classifier, size: grid) { d, t in
                bar.update("evaluate \(label): loading \(d)/\(t)")
            }
            if n == 0 && !skipped.isEmpty {
                bar.finish()
                skippedFiles = skipped
                Stderr.line("warning: skipped \(skipped.count) unreadable \(noun) in \(data):")
                for e in skipped.prefix(5) { Stderr.line("  \(e)") }
            }
            let result = try Evaluation.evaluate(classifier, on: dataset, batchSize: batchSize) { d, t in
                bar.update("evaluate \(label): \(d)/\(t) \(noun)", final: d == t && !Stderr.isTerminal)
            }
            bar.finish()
            rows.append((grid, result))
            if format == .json {
                var line = JSONLine()
                line.add("size", .ints(result.size))
                if isVideo { line.add("frames", grid[0]) }
                line.add("accuracy", Double(result.accuracy))
                line.add("loss", Double(result.loss))
                line.add("count", result.count)
                line.add("model", modelPath)
                line.add("classes", .strings(dataset.classNames))
                line.add("confusion", .array(result.confusion.map { .ints($0) }))
                // Unreadable files are part of the answer: listed, and the exit status says so.
                line.add("skipped", .array(skippedFiles.map { e in
                    var item = JSONLine()
                    item.add("file", e.file)
                    item.add("error", "\(e)")
                    return .object(item)
                }))
                line.print()
            }
        }
        if format == .table {
            Stdout.line(isVideo ? "| frames | size | accuracy |" : "| size | accuracy |")
            Stdout.line(isVideo ? "|---|---|---|" : "|---|---|")
            for (g, r) in rows {
                let hw = "\(g[g.count - 2])×\(g[g.count - 1])"
                let accuracy = String(format: "%.2f%%", 100 * r.accuracy)
                if isVideo {
                    Stdout.line("| \(g[0])\(g[0] == trainSize[0] ? " (train)" : "") | \(hw)\(g.suffix(2) == trainSize.suffix(2) ? " (train)" : "") | \(accuracy) |")
                } else {
                    Stdout.line("| \(hw)\(g == trainSize ? " (train)" : "") | \(accuracy) |")
                }
            }
        }
        if !skippedFiles.isEmpty { throw ExitCode(1) }
    }
}
