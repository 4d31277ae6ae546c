import ArgumentParser
import Foundation
import MediaIO
import S4ND
import Workflows

/// `ssm evaluate --data DIR [--size N ...]`: accuracy of a classifier per input size.
struct Evaluate: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case json, table }

    static let configuration = CommandConfiguration(
        abstract: "Accuracy of an image classifier on an ImageFolder, at one or more input sizes.",
        discussion: """
            For each size, every image of DIR/<class>/*.png is resized with MediaIO's antialiased \
            resize and classified; the model runs at that size with rate = training size / input size \
            per axis, so sizes other than the training size are zero-shot. Class folders must be \
            classes of the model (a class may have no folder). Without --size, the model's training \
            size is used. Without --model, the default model is used (see `ssm classify --help`).

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
            """)

    @Option(help: "ImageFolder to evaluate on (DIR/<class>/*.png).")
    var data: String

    @Option(help: "Model file (default: the shipped model or $SSM_MODEL).")
    var model: String?

    @Option(parsing: .upToNextOption, help: "Input sizes, each N or HxW (default: the model's training size).")
    var size: [ImageSize] = []

    @Option(help: "json (one line per size) or table (Markdown).")
    var format: Format = .json

    @Option(name: .customLong("batch-size"), help: "Images per forward pass.")
    var batchSize: Int = 64

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        if let s = size.first(where: { $0.height < 2 || $0.width < 2 }) { throw ValidationError("--size must be at least 2x2 (got \(s))") }
    }

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDir), isDir.boolValue else {
            throw CommandError("\(data): no such folder (expected an ImageFolder DIR/<class>/*.png)")
        }
        let (classifier, modelPath) = try loadClassifier(model)
        let train = ImageSize(height: classifier.config.trainSize[0], width: classifier.config.trainSize[1])
        let sizes = size.isEmpty ? [train] : size
        let bar = ProgressLine(interval: 10)
        var rows: [(ImageSize, EvaluationResult)] = []
        var skippedFiles: [MediaError] = []
        for (n, s) in sizes.enumerated() {
            let (dataset, skipped) = try ModelData.load(data, for: classifier, size: s) { d, t in
                bar.update("evaluate \(s): loading \(d)/\(t)")
            }
            if n == 0 && !skipped.isEmpty {
                bar.finish()
                skippedFiles = skipped
                Stderr.line("warning: skipped \(skipped.count) unreadable image(s) in \(data):")
                for e in skipped.prefix(5) { Stderr.line("  \(e)") }
            }
            let result = try Evaluation.evaluate(classifier, on: dataset, batchSize: batchSize) { d, t in
                bar.update("evaluate \(s): \(d)/\(t) images", final: d == t && !Stderr.isTerminal)
            }
            bar.finish()
            rows.append((s, result))
            if format == .json {
                var line = JSONLine()
                line.add("size", .ints(result.size))
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
            Stdout.line("| size | accuracy |")
            Stdout.line("|---|---|")
            for (s, r) in rows {
                let name = "\(s.height)×\(s.width)" + (s == train ? " (train)" : "")
                Stdout.line("| \(name) | " + String(format: "%.2f%%", 100 * r.accuracy) + " |")
            }
        }
        if !skippedFiles.isEmpty { throw ExitCode(1) }
    }
}
