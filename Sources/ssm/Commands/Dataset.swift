import ArgumentParser
import Foundation
import MediaIO
import Workflows

/// `ssm dataset …`: preparing image data sets.
struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare image data sets (ImageFolders of PNGs).",
        subcommands: [ImportIDX.self])
}

/// `ssm dataset import-idx IMAGES LABELS --out DIR`: IDX (MNIST format) → ImageFolder of PNGs.
struct ImportIDX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-idx",
        abstract: "Turn an IDX image/label pair (MNIST, Fashion-MNIST) into an ImageFolder of PNGs.",
        discussion: """
            Writes DIR/<class>/<index>.png (8-bit gray), one file per image, numbered in file order. \
            Gzip-compressed (.gz) and plain IDX files are both read. DIR must not exist yet (or be \
            empty); the folder appears only once every image is written, so a failed import leaves \
            nothing behind. Progress goes to standard error; one JSON summary line to standard output:
              {"out": "data/train", "images": 60000, "height": 28, "width": 28,
               "classes": [...], "per_class": {...}}

            Examples:
              # Fashion-MNIST as shipped by Debian's dataset-fashion-mnist package
              F=/usr/share/datasets/fashion-mnist
              ssm dataset import-idx $F/train-images-idx3-ubyte.gz \\
                  $F/train-labels-idx1-ubyte.gz --out data/fashion/train --fashion-mnist
              ssm dataset import-idx $F/t10k-images-idx3-ubyte.gz \\
                  $F/t10k-labels-idx1-ubyte.gz --out data/fashion/test --fashion-mnist

              # MNIST digits, folders named 0..9, the first 1000 images only
              ssm dataset import-idx train-images-idx3-ubyte \\
                  train-labels-idx1-ubyte --out data/mnist-small --limit 1000

              # your own folder names, in label order
              ssm dataset import-idx images.idx labels.idx --out data/shapes \\
                  --class-names circle,square,triangle
            """)

    @Argument(help: "IDX image file, shape (N, height, width), unsigned bytes (optionally .gz).")
    var images: String

    @Argument(help: "IDX label file, shape (N), unsigned bytes (optionally .gz).")
    var labels: String

    @Option(help: "Output folder (created; must not exist or be empty).")
    var out: String

    @Option(name: .customLong("class-names"), help: "Comma-separated folder names in label order (default: 0, 1, 2, …).")
    var classNames: String?

    @Flag(name: .customLong("fashion-mnist"), help: "Use the Fashion-MNIST class names (t-shirt, trouser, … ankle-boot).")
    var fashionMNIST = false

    @Option(help: "Import only the first N images.")
    var limit: Int?

    func validate() throws {
        if classNames != nil && fashionMNIST { throw ValidationError("give either --class-names or --fashion-mnist, not both") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        if let names = parsedNames {
            if names.contains(where: \.isEmpty) { throw ValidationError("--class-names has an empty name: '\(classNames!)'") }
            if Set(names).count != names.count { throw ValidationError("--class-names has repeated names: '\(classNames!)'") }
            if let bad = names.first(where: { $0.contains("/") || $0 == "." || $0 == ".." || $0.hasPrefix(".") }) {
                throw ValidationError("--class-names: '\(bad)' cannot be a folder name")
            }
            if let long = names.first(where: { $0.utf8.count > 255 }) {
                throw ValidationError("--class-names: '\(long.prefix(40))…' is \(long.utf8.count) bytes long; a folder name holds at most 255")
            }
        }
    }

    var parsedNames: [String]? {
        if fashionMNIST { return IDXImport.fashionMNISTClasses }
        return classNames.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    func run() throws {
        let fm = FileManager.default
        let outURL = URL(fileURLWithPath: out).standardizedFileURL
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: outURL.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CommandError("\(out): exists and is not a folder") }
            guard ((try? fm.contentsOfDirectory(atPath: outURL.path)) ?? []).isEmpty else {
                throw CommandError("\(out): folder exists and is not empty; choose a new --out")
            }
        }
        for f in [images, labels] where !fm.fileExists(atPath: f) { throw CommandError("\(f): no such file") }
        let parent = outURL.deletingLastPathComponent()
        do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw CommandError("\(parent.path): cannot create folder: \(error.localizedDescription)")
        }
        // Written beside the target, renamed into place at the end.
        let staging = parent.appendingPathComponent(".\(outURL.lastPathComponent).partial-\(getpid())")
        try? fm.removeItem(at: staging)
        defer { try? fm.removeItem(at: staging) }
        let bar = ProgressLine(interval: 10)
        let summary: IDXImport.Summary
        do {
            summary = try IDXImport.run(images: URL(fileURLWithPath: images), labels: URL(fileURLWithPath: labels), out: staging,
                                        classNames: parsedNames, limit: limit) { done, total in
                bar.update("import-idx: \(done)/\(total) images", final: done == total)
            }
        } catch {
            bar.finish()
            throw CommandError("\(error)")
        }
        if fm.fileExists(atPath: outURL.path) { try? fm.removeItem(at: outURL) }
        do { try fm.moveItem(at: staging, to: outURL) } catch {
            throw CommandError("\(out): cannot move the imported folder into place: \(error.localizedDescription)")
        }
        let names = parsedNames ?? summary.perClass.keys.sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
        // Image size, from one written file.
        let sample = names.lazy.compactMap { name -> ImageInfo? in
            let dir = outURL.appendingPathComponent(name).path
            guard let f = (try? fm.contentsOfDirectory(atPath: dir))?.sorted().first else { return nil }
            return try? PNGFile.info(dir + "/" + f)
        }.first
        var perClass = JSONLine()
        for n in names { perClass.add(n, summary.perClass[n] ?? 0) }
        var line = JSONLine()
        line.add("out", out)
        line.add("images", summary.written)
        if let sample { line.add("height", sample.height); line.add("width", sample.width) }
        line.add("classes", .strings(names))
        line.add("per_class", .object(perClass))
        line.print()
    }
}
