import ArgumentParser
import Foundation
import MediaIO
import SSMCore
import Workflows

/// `ssm dataset …`: preparing image data sets.
struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare image and video data sets (ImageFolders of PNGs, raw motion clips).",
        subcommands: [ImportIDX.self, RenderMotion.self, ExtractFrames.self])
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
        for f in [images, labels] where !fm.fileExists(atPath: f) { throw CommandError("\(f): no such file") }
        let folder = try StagedFolder(out)
        let outURL = folder.target, staging = folder.staging
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
        try folder.commit()
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

/// `ssm dataset render-motion IMAGES --out DIR`: raw frames of items moving in four directions.
struct RenderMotion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render-motion",
        abstract: "Render clips of IDX images moving on a wrapping canvas, one of four directions per clip (raw gray frames).",
        discussion: """
            Each clip is one image of IMAGES (IDX, e.g. Fashion-MNIST; a seeded random pick) sliding \
            down, left, right or up across a square canvas that wraps around at its edges, at a \
            seeded random speed and start. Because the canvas wraps, any single frame shows the item \
            at a uniformly random place, so only the motion tells the class. Classes are balanced.

            Writes DIR/<direction>/<index>.gray — FRAMES x SIZE x SIZE unsigned bytes, frame after \
            frame — and DIR/manifest.tsv (file, class, item index, speed, start y, start x). \
            scripts/make-moving-digits.sh encodes them with ffmpeg into video files. One JSON \
            summary line on standard output.

            Examples:
              ssm dataset render-motion /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \\
                  --out /tmp/raw-test --clips 400 --frames 32 --size 64 --seed 1
            """)

    @Argument(help: "IDX image file (N, side, side), unsigned bytes (optionally .gz).")
    var images: String

    @Option(help: "Output folder (created; must not exist or be empty).")
    var out: String

    @Option(help: "Clips to render, a multiple of 4 (default 400).")
    var clips: Int = 400

    @Option(help: "Frames per clip (default 32).")
    var frames: Int = 32

    @Option(help: "Canvas side in pixels, at least the item's side (default 64).")
    var size: Int = 64

    @Option(name: .customLong("min-speed"), help: "Smallest speed in canvas pixels per frame (default 1).")
    var minSpeed: Double = 1

    @Option(name: .customLong("max-speed"), help: "Largest speed in canvas pixels per frame (default 1.75).")
    var maxSpeed: Double = 1.75

    @Option(help: "Seed of the items, speeds and starts (default 0).")
    var seed: UInt64 = 0

    func validate() throws {
        if clips < 4 || clips % 4 != 0 { throw ValidationError("--clips must be a positive multiple of 4 (got \(clips))") }
        if !(1...1024).contains(frames) { throw ValidationError("--frames must be in 1…1024 (got \(frames))") }
        if !(1...1024).contains(size) { throw ValidationError("--size must be in 1…1024 (got \(size))") }
        if !(minSpeed >= 0 && maxSpeed >= minSpeed && maxSpeed.isFinite) {
            throw ValidationError("need 0 ≤ --min-speed ≤ --max-speed (got \(minSpeed), \(maxSpeed))")
        }
    }

    func run() throws {
        let fm = FileManager.default
        let idx: IDXArray
        do { idx = try IDXArray.read(URL(fileURLWithPath: images)) } catch { throw CommandError("\(error)") }
        guard idx.shape.count == 3, idx.shape[1] == idx.shape[2], idx.shape[0] > 0 else {
            throw CommandError("\(images): expected square IDX images (N, side, side), found shape \(idx.shape)")
        }
        let (n, side) = (idx.shape[0], idx.shape[1])
        guard size >= side else { throw CommandError("--size \(size) is smaller than the items' side \(side)") }
        let folder = try StagedFolder(out)
        let staging = folder.staging
        var rng = SeededRNG(seed: seed ^ 0x6d6f_7469)
        var manifest = "file\tclass\titem\tspeed\tstart_y\tstart_x\n"
        let bar = ProgressLine(interval: 10)
        do {
            for c in MotionClips.classes { try fm.createDirectory(at: staging.appendingPathComponent(c), withIntermediateDirectories: true) }
            for k in 0..<clips {
                let direction = k % 4
                let item = Int(rng.next() % UInt64(n))
                let motion = MotionClips.motion(direction: direction, canvas: size, speeds: minSpeed...maxSpeed, rng: &rng)
                let pixels = Array(idx.bytes[(item * side * side)..<((item + 1) * side * side)])
                let frames = MotionClips.render(item: pixels, side: side, motion: motion, canvas: size, frames: frames)
                let name = "\(MotionClips.classes[direction])/\(String(format: "%05d", k)).gray"
                try Data(frames).write(to: staging.appendingPathComponent(name))
                manifest += "\(name)\t\(MotionClips.classes[direction])\t\(item)\t" +
                    String(format: "%.4f\t%.3f\t%.3f", motion.speed, motion.start.y, motion.start.x) + "\n"
                bar.update("render-motion: \(k + 1)/\(clips) clips", final: k + 1 == clips)
            }
            try Data(manifest.utf8).write(to: staging.appendingPathComponent("manifest.tsv"))
        } catch {
            throw CommandError("\(out): cannot write the clips: \(FileErrorText.describe(error))")
        }
        try folder.commit()
        var line = JSONLine()
        line.add("out", out)
        line.add("clips", clips)
        line.add("frames", frames)
        line.add("size", size)
        line.add("classes", .strings(MotionClips.classes))
        line.print()
    }
}

/// `ssm dataset extract-frames DIR --out OUT`: a video folder → an ImageFolder of its frames.
struct ExtractFrames: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract-frames",
        abstract: "Turn a folder of class folders of videos into an ImageFolder of their frames (PNG).",
        discussion: """
            For every video DIR/<class>/<name>.<ext>, --frames K frames evenly spaced over the clip \
            (the same sampling as video training) are written as OUT/<class>/<name>-<k>.png, 8-bit \
            gray (or RGB with --rgb), scaled to --size when given. Use it to train an image model \
            on single frames — the baseline that shows what a video model gains from motion. OUT \
            must not exist (or be empty); it appears only when every frame is written. Unreadable \
            videos are listed on standard error and skipped. One JSON summary line on standard output.

            Examples:
              ssm dataset extract-frames data/moving/train --out data/moving-frames/train --frames 4 --size 32
            """)

    @Argument(help: "Folder of class folders of videos.")
    var data: String

    @Option(help: "Output folder (created; must not exist or be empty).")
    var out: String

    @Option(help: "Frames per video, evenly spaced (default 4).")
    var frames: Int = 4

    @Option(help: "Scale frames to N or HxW (default: the video's size).", transform: ImageSize.argument)
    var size: ImageSize?

    @Flag(help: "RGB frames instead of gray.")
    var rgb = false

    func validate() throws {
        if !(1...1024).contains(frames) { throw ValidationError("--frames must be in 1…1024 (got \(frames))") }
    }

    func run() throws {
        let fm = FileManager.default
        let (files, classNames): ([(String, Int)], [String])
        do { (files, classNames) = try ImageFolder.list(data, kind: .video) } catch { throw CommandError("\(error)") }
        let folder = try StagedFolder(out)
        let staging = folder.staging
        do {
            for c in classNames { try fm.createDirectory(at: staging.appendingPathComponent(c), withIntermediateDirectories: true) }
        } catch { throw CommandError("\(out): cannot create folders: \(FileErrorText.describe(error))") }
        var failures = [String?](repeating: nil, count: files.count)
        var written = [Int](repeating: 0, count: files.count)
        let bar = ProgressLine(interval: 10)
        let lock = NSLock()
        var done = 0
        failures.withUnsafeMutableBufferPointer { fb in written.withUnsafeMutableBufferPointer { wb in
            let (fb, wb) = (fb, wb)
            Parallel.forEach(files.count) { i in
                let (file, label) = files[i]
                do {
                    let (pixels, grid) = try Samples.clip(file, frames: frames, gray: !rgb, height: size?.height, width: size?.width, exact: true)
                    let (T, plane) = (grid[0], grid[1] * grid[2])
                    let channels = rgb ? 3 : 1
                    let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                    for t in 0..<T {
                        var frame = [Float](repeating: 0, count: channels * plane)
                        for c in 0..<channels { for p in 0..<plane { frame[c * plane + p] = pixels[(c * T + t) * plane + p] } }
                        let image = Image(channels: channels, height: grid[1], width: grid[2], pixels: frame)
                        try PNGFile.write(image, to: staging.appendingPathComponent("\(classNames[label])/\(stem)-\(t).png").path)
                    }
                    wb[i] = T
                } catch {
                    fb[i] = "\(error)"
                }
                lock.lock(); done += 1; let d = done; lock.unlock()
                bar.update("extract-frames: \(d)/\(files.count) videos", final: d == files.count)
            }
        }}
        let bad = failures.compactMap { $0 }
        if !bad.isEmpty {
            Stderr.line("warning: skipped \(bad.count) unreadable video(s):")
            for e in bad.prefix(5) { Stderr.line("  \(e)") }
        }
        guard bad.count < files.count else { throw CommandError("\(data): no video could be read; nothing written") }
        try folder.commit()
        var line = JSONLine()
        line.add("out", out)
        line.add("videos", files.count - bad.count)
        line.add("skipped", bad.count)
        line.add("images", written.reduce(0, +))
        line.add("classes", .strings(classNames))
        line.print()
        if !bad.isEmpty { throw ExitCode(1) }
    }
}
