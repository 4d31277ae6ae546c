import ArgumentParser
import Foundation
import MediaIO
import S4ND
import SSMCore
import Workflows

/// `ssm train-classifier --data DIR --out RUN_DIR`: trains an S4ND image classifier.
struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-classifier",
        abstract: "Train an S4ND classifier of images or videos on a folder of class folders.",
        discussion: """
            DIR holds one folder per class (DIR/<class>/<file>); class names are the folder names in \
            sorted order. Images (png, jpg, webp, bmp, tiff, gif, …) are loaded as gray (or RGB with \
            --rgb) and resized to the training size with MediaIO's antialiased resize. Without --val, \
            a seeded random fraction (--val-fraction, default 0.1) is held out for validation.

            Videos (mp4, mkv, webm, avi, mov, gif, …; detected when the class folders hold video \
            files, or --video) train a 3-D S4ND model over (frames, height, width): each clip gives \
            --frames T frames (default 16) evenly spaced over the whole clip, scaled to --size. For \
            training, 2T evenly spaced frames are kept per clip and each step takes T of them at a \
            random phase (a temporal crop); validation uses the centred phase. Clips with fewer than \
            2T frames are skipped (listed on standard error). Flips are off for videos unless \
            --flip true (mirroring turns left motion into right motion).

            Training: AdamW with a cosine schedule after a linear warm-up, gradient clipping, random \
            flips and shifts (off with --no-augment). RUN_DIR receives:
              checkpoint.safetensors  after every epoch: model, optimiser, step, RNG
              model.safetensors       the final model (ssm classify, ssm evaluate)
              metrics.json            configuration, options, per-epoch history, status (after every epoch)
            Standard output: one JSON line per epoch, then one with the final metrics. Standard \
            error: a progress bar on a terminal (epoch, step, loss, accuracy, images/s, ETA), \
            otherwise a progress line about every 10 s.

            Blocks: --block s4 (default) uses the S4ND layer; s5, mamba and gss apply that 1-D \
            block along each axis in turn (down the columns, then along the rows), both \
            directions, with per-axis rates at other resolutions (S5 and Mamba scale their steps Δ).

            Kernels: --kernel picks the 1-D kernel of every S4ND axis from the registry (s4d, dplr, \
            dss, dlr, ema, sgconv, conv; see `ssm inspect --kernels`), with its own --init, --disc, \
            --reparam and --kernel-dim. The kernel and its options are stored in the model, so \
            classify and evaluate need no flag. Continuous kernels (s4d, dplr, dss) are resampled \
            at other resolutions; the others say in `ssm inspect --kernels` what they do.

            Ctrl-C (SIGINT) or SIGTERM stops after the current step, keeps the last epoch's checkpoint \
            and prints how to continue (--resume restarts the interrupted epoch).

            --resume continues RUN_DIR/checkpoint.safetensors from its epoch, step and RNG state with \
            the options it was started with; only --epochs may be raised (other model or training \
            options, if given, must equal the checkpoint's). It refuses data folders whose files \
            differ from the run's (run.json records the folders, file count and a fingerprint); \
            --allow-data-change continues anyway.

            Examples:
              # Fashion-MNIST at 28x28 (data from `ssm dataset import-idx`)
              ssm train-classifier --data data/fashion/train \\
                  --val data/fashion/test --out runs/fashion --epochs 20

              # a quick tiny model on 2000 images
              ssm train-classifier --data data/fashion/train --max-images 2000 \\
                  --out runs/tiny --d-model 16 --layers 2 --d-state 16 --epochs 3

              # a video model: 16 frames of 32x32 per clip (data: scripts/make-moving-digits.sh)
              ssm train-classifier --data data/moving/train --val data/moving/test \\
                  --out runs/moving --frames 16 --size 32 --epochs 8

              # the original S4 kernel (HiPPO-LegS) instead of S4D
              ssm train-classifier --data data/fashion/train --out runs/dplr \\
                  --kernel dplr --init legs --epochs 3

              # interrupted? continue from the last checkpoint, or train longer
              ssm train-classifier --data data/fashion/train \\
                  --val data/fashion/test --out runs/fashion --resume
              ssm train-classifier --data data/fashion/train \\
                  --val data/fashion/test --out runs/fashion --resume --epochs 30
            """)

    @Option(help: "Training folder (DIR/<class>/<image or video file>).")
    var data: String

    @Option(help: "Validation ImageFolder with the same class folders (default: hold out --val-fraction of --data).")
    var val: String?

    @Option(name: .customLong("val-fraction"), help: "Fraction of --data held out for validation when no --val is given (0 = none; default 0.1).")
    var valFraction: Double?

    @Option(help: "Run folder for checkpoint.safetensors, model.safetensors and metrics.json.")
    var out: String

    @Option(help: "Epochs (default 10).") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Images per step (default 32).") var batchSize: Int?
    @Option(help: "Peak learning rate of the non-SSM parameters (default 0.01).") var lr: Float?
    @Option(name: .customLong("ssm-lr"), help: "Peak learning rate of the SSM kernel parameters (default 0.001).") var ssmLR: Float?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (default 0.05).") var weightDecay: Float?
    @Option(name: .customLong("d-model"), help: "Channels H (default 64).") var dModel: Int?
    @Option(help: "S4ND blocks (default 4).") var layers: Int?
    @Option(name: .customLong("d-state"), help: "State size N per axis, even (default 64).") var dState: Int?
    @Option(help: "Training size N or HxW (default 28; videos: the frame size, default 32).", transform: ImageSize.argument) var size: ImageSize?
    @Flag(help: "Train on videos (default: when the class folders hold video files).") var video = false
    @Option(help: "Frames per clip for videos (default 16).") var frames: Int?
    @Option(help: "Random horizontal flips, true or false (default: true for images, false for videos).") var flip: Bool?
    @Option(help: "Kernel bandlimit: keep modes below bandlimit/2 cycles per pixel (0 = off; default 0.5).") var bandlimit: Float?
    @Option(name: .customLong("dt-min"), help: "Smallest initial SSM step dt (default 0.01).") var dtMin: Float?
    @Option(name: .customLong("dt-max"), help: "Largest initial SSM step dt (default 0.1).") var dtMax: Float?
    @Option(help: "Dropout after each S4ND layer (default 0.1).") var dropout: Float?
    @Option(help: "Seed of initialisation, shuffling, augmentation and the validation split (default 0).") var seed: UInt64?
    @Flag(name: .customLong("no-augment"), help: "No random flips or shifts.") var noAugment = false
    @Flag(help: "Train on RGB (3 channels) instead of gray.") var rgb = false
    @OptionGroup(title: "Kernel") var kernelGroup: KernelOptionGroup
    @Flag(help: "Continue RUN_DIR/checkpoint.safetensors.") var resume = false
    @Option(name: .customLong("max-images"), help: "Train on a seeded random sample of at most N images of --data.") var maxImages: Int?
    @Flag(name: .customLong("allow-data-change"), help: "With --resume, continue even if the data folders' files differ from the run's.") var allowDataChange = false

    func validate() throws {
        func positive(_ v: Int?, _ name: String) throws {
            if let v, v < 1 { throw ValidationError("\(name) must be at least 1 (got \(v))") }
        }
        try positive(epochs, "--epochs"); try positive(batchSize, "--batch-size"); try positive(dModel, "--d-model")
        try positive(maxImages, "--max-images")
        if let frames, !(2...1024).contains(frames) { throw ValidationError("--frames must be in 2…1024 (got \(frames))") }
        if let layers, layers < 0 { throw ValidationError("--layers must be 0 or more (got \(layers))") }
        if let dState, dState < 2 || dState % 2 != 0 { throw ValidationError("--d-state must be even and at least 2 (got \(dState))") }
        if let v = valFraction, !(v >= 0 && v < 1) { throw ValidationError("--val-fraction must be in [0, 1) (got \(v))") }
        if val != nil && valFraction != nil { throw ValidationError("give either --val or --val-fraction, not both") }
        for (v, name) in [(lr, "--lr"), (ssmLR, "--ssm-lr")] { if let v, !(v > 0 && v.isFinite) { throw ValidationError("\(name) must be positive (got \(v))") } }
        if let v = weightDecay, !(v >= 0 && v.isFinite) { throw ValidationError("--weight-decay must be 0 or more (got \(v))") }
        if let v = dropout, !(v >= 0 && v < 1) { throw ValidationError("--dropout must be in [0, 1) (got \(v))") }
        if let v = bandlimit, !(v >= 0 && v.isFinite) { throw ValidationError("--bandlimit must be 0 (off) or positive (got \(v))") }
        for (v, name) in [(dtMin, "--dt-min"), (dtMax, "--dt-max")] { if let v, !(v > 0 && v.isFinite) { throw ValidationError("\(name) must be positive (got \(v))") } }
        if let a = dtMin, let b = dtMax, a > b { throw ValidationError("--dt-min \(a) is larger than --dt-max \(b)") }
        if let size, size.height < 4 || size.width < 4 { throw ValidationError("--size must be at least 4x4 (got \(size))") }
        try size?.checkModelInput()
        if !resume { _ = try freshConfig(classNames: [], isVideo: detectVideo()) }
    }

    /// Data options remembered in RUN_DIR/run.json so --resume splits the data the same way, and
    /// the data it trained on (folders, file count, fingerprint) so --resume can check it is the same.
    struct RunData: Codable, Equatable {
        var valFraction: Double
        var maxImages: Int?
        var data: String? = nil
        var val: String? = nil
        var files: Int? = nil
        var fingerprint: String? = nil
        enum CodingKeys: String, CodingKey {
            case valFraction = "val_fraction", maxImages = "max_images", data, val, files, fingerprint
        }
    }

    /// What metrics.json holds.
    struct RunMetrics: Encodable {
        /// `running` (written after every epoch), `finished`, `interrupted` or `diverged`.
        var status: String = "finished"
        /// Why the run stopped, when it did not finish.
        var message: String? = nil
        var config: ImageClassifierConfig
        var options: TrainingOptions
        var trainImages: Int
        var validationImages: Int
        var history: [EpochMetrics]
        var seconds: Double
        enum CodingKeys: String, CodingKey {
            case status, message, config, options, trainImages = "train_images", validationImages = "val_images", history, seconds
        }
    }

    /// Videos: asked for with --video or --frames, or found in the class folders (walks them).
    func detectVideo() -> Bool { video || frames != nil || (try? ImageFolder.detectKind(data)) == .video }

    func freshConfig(classNames: [String], isVideo: Bool) throws -> ImageClassifierConfig {
        var c = ImageClassifierConfig()
        c.inputChannels = rgb ? 3 : 1
        if isVideo {
            let s = size ?? ImageSize(height: 32, width: 32)
            c.trainSize = [frames ?? 16, s.height, s.width]
        }
        c.classNames = classNames
        c.classes = classNames.count
        if let dModel { c.dModel = dModel }
        if let layers { c.layers = layers }
        if let dState { c.dState = dState }
        if let size, !isVideo { c.trainSize = size.array }
        if let bandlimit { c.bandlimit = bandlimit > 0 ? bandlimit : nil }
        if let dropout { c.dropout = dropout }
        if let dtMin { c.dtMin = dtMin }
        if let dtMax { c.dtMax = dtMax }
        c.kernelOptions = try kernelGroup.applied(to: c.kernelOptions, keepBandlimit: bandlimit.map { $0 > 0 } ?? false)
        let block = try kernelGroup.blockKind()
        c.block = block == .s4 ? nil : block.rawValue
        if kernelGroup.smr != nil { throw ValidationError("--smr applies to 1-D sequence models (train-sashimi); the image classifier's layers see whole images") }
        if block == .mamba && dState == nil { c.dState = 16 }           // Mamba's own default
        return c
    }

    func freshOptions(isVideo: Bool) -> TrainingOptions {
        var o = TrainingOptions()
        if let epochs { o.epochs = epochs }
        if let batchSize { o.batchSize = batchSize }
        if let lr { o.learningRate = lr }
        if let ssmLR { o.ssmLearningRate = ssmLR }
        if let weightDecay { o.weightDecay = weightDecay }
        if let seed { o.seed = seed }
        if noAugment { o.augment = false }
        o.flip = flip ?? !isVideo
        return o
    }

    /// Options given on the command line that differ from a checkpoint's (for --resume).
    func conflicts(config c: ImageClassifierConfig, options o: TrainingOptions) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ given: T?, _ stored: T, _ name: String) {
            if let given, given != stored { out.append("\(name) \(given) (checkpoint: \(stored))") }
        }
        check(batchSize, o.batchSize, "--batch-size"); check(lr, o.learningRate, "--lr"); check(ssmLR, o.ssmLearningRate, "--ssm-lr")
        check(weightDecay, o.weightDecay, "--weight-decay"); check(seed, o.seed, "--seed")
        check(dModel, c.dModel, "--d-model"); check(layers, c.layers, "--layers"); check(dState, c.dState, "--d-state")
        check(size?.array, Array(c.trainSize.suffix(2)), "--size"); check(dropout, c.dropout, "--dropout")
        if let frames, c.trainSize.count == 3, frames != c.trainSize[0] { out.append("--frames \(frames) (checkpoint: \(c.trainSize[0]))") }
        if (video || frames != nil) && c.trainSize.count == 2 { out.append("--video (checkpoint is an image model)") }
        check(flip, o.flip, "--flip")
        check(dtMin, c.dtMin, "--dt-min"); check(dtMax, c.dtMax, "--dt-max")
        if let bandlimit, (bandlimit > 0 ? bandlimit : nil) != c.bandlimit { out.append("--bandlimit \(bandlimit) (checkpoint: \(c.bandlimit.map { "\($0)" } ?? "off"))") }
        if noAugment && o.augment { out.append("--no-augment (checkpoint trains with augmentation)") }
        out += kernelGroup.conflicts(with: c.kernelOptions)
        if let b = kernelGroup.block, b != (c.block ?? "s4") { out.append("--block \(b) (checkpoint: \(c.block ?? "s4"))") }
        if rgb != (c.inputChannels == 3) { out.append(rgb ? "--rgb (checkpoint is gray)" : "gray (checkpoint is RGB; add --rgb)") }
        return out
    }

    func run() throws {
        // Fresh runs learn once whether the data is video (a resumed run goes by its model).
        let isVideo = resume ? false : detectVideo()
        let fm = FileManager.default
        let runDir = URL(fileURLWithPath: out)
        let checkpointURL = runDir.appendingPathComponent("checkpoint.safetensors")
        let modelURL = runDir.appendingPathComponent("model.safetensors")
        let metricsURL = runDir.appendingPathComponent("metrics.json")
        let runDataURL = runDir.appendingPathComponent("run.json")
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDir), !isDir.boolValue { throw CommandError("\(out): exists and is not a folder") }

        // Model, options and data options: fresh, or from the checkpoint.
        var model: ImageClassifier?
        var resumeFile: SafeTensorsFile?
        var options: TrainingOptions
        var runData = RunData(valFraction: val == nil ? (valFraction ?? 0.1) : 0, maxImages: maxImages)
        var savedRunData: RunData?
        if resume {
            guard fm.fileExists(atPath: checkpointURL.path) else {
                throw CommandError("\(checkpointURL.path): no checkpoint to resume (train without --resume first)")
            }
            let (m, file) = try ClassifierCheckpoint.load(checkpointURL)
            guard let text = file.metadata["options"],
                  let stored = try? JSONDecoder().decode(TrainingOptions.self, from: Data(text.utf8)) else {
                throw CommandError("\(checkpointURL.path): not a training checkpoint (no training options in its metadata)")
            }
            let bad = conflicts(config: m.config, options: stored)
            guard bad.isEmpty else {
                throw CommandError("--resume continues with the checkpoint's options; these differ: \(bad.joined(separator: ", ")). " +
                                   "Only --epochs may change.")
            }
            if let d = try? Data(contentsOf: runDataURL), let saved = try? JSONDecoder().decode(RunData.self, from: d) {
                if valFraction == nil && val == nil { runData.valFraction = saved.valFraction }
                if maxImages == nil { runData.maxImages = saved.maxImages }
                savedRunData = saved
            }
            if let epochs, epochs < stored.epochs {
                throw CommandError("--epochs \(epochs) is below the run's \(stored.epochs): --resume may only raise it")
            }
            options = stored
            if let epochs { options.epochs = epochs }
            model = m
            resumeFile = file
        } else {
            if fm.fileExists(atPath: checkpointURL.path) {
                throw CommandError("\(checkpointURL.path) exists: add --resume to continue that run, or choose another --out")
            }
            options = freshOptions(isVideo: isVideo)
        }

        // The data's identity, checked against the run's on --resume.
        let kind: SampleKind = model.map { $0.axes == 3 ? .video : .image } ?? (isVideo ? .video : .image)
        let video = kind == .video
        let noun = kind == .video ? "clips" : "images"
        let listing = try ImageFolder.listing(data, kind: kind)
        if let empty = listing.emptyClasses.first {
            throw CommandError("\(data)/\(empty): empty class folder (no \(kind == .video ? "video" : "image") files); add some or remove the folder")
        }
        if listing.hidden > 0 { Stderr.line("train-classifier: skipped \(listing.hidden) hidden file(s) in \(data)") }
        let files = listing.files.map(\.0) + (try val.map { try ImageFolder.list($0, kind: kind).files.map(\.0) } ?? [])
        runData.data = data; runData.val = val; runData.files = files.count; runData.fingerprint = DataFingerprint.of(files)
        if let saved = savedRunData, let print = saved.fingerprint, !allowDataChange,
           print != runData.fingerprint || saved.files != runData.files {
            throw CommandError("--resume: the data differs from the run's (\(saved.files ?? 0) files in \(saved.data ?? "?"), fingerprint \(print); " +
                               "now \(files.count) files in \(data), \(runData.fingerprint!)). Use the same --data/--val, " +
                               "add --allow-data-change to continue on the new data, or start a new --out.")
        }

        // Data.
        let loading = ProgressLine(interval: 10)
        let trainSize = try model?.config.trainSize ?? freshConfig(classNames: [], isVideo: video).trainSize
        // Training clips keep twice the model's frames, for temporal crops.
        let storedFrames = kind == .video ? 2 * trainSize[0] : nil
        var train: ImageDataset
        var skipped: [MediaError]
        if let model {
            (train, skipped) = try ModelData.load(data, for: model, size: trainSize, storedFrames: storedFrames) { d, t in
                loading.update("loading \(data): \(d)/\(t) \(noun)", final: d == t)
            }
        } else {
            (train, skipped) = try ImageFolder.load(data, size: trainSize, mode: rgb ? .rgb : .gray, storedFrames: storedFrames) { d, t in
                loading.update("loading \(data): \(d)/\(t) \(noun)", final: d == t)
            }
            guard train.classNames.count >= 2 else {
                throw CommandError("\(data): found \(train.classNames.count) class folder (\(train.classNames.joined())); a classifier needs at least 2")
            }
        }
        report(skipped)
        if let maxImages { train = train.sample(maxImages, seed: options.seed) }
        var validation: ImageDataset?
        if val == nil && runData.valFraction > 0 {
            guard train.count >= 2 else { throw CommandError("\(data): \(train.count) sample; cannot hold out a validation split") }
            let (rest, held) = train.split(holdOut: runData.valFraction, seed: options.seed)
            train = rest; validation = held
        }

        let classifier: ImageClassifier
        if let model { classifier = model } else {
            var rng = SeededRNG(seed: options.seed)
            classifier = try ImageClassifier(try freshConfig(classNames: train.classNames, isVideo: video), rng: &rng)
        }
        if let val {
            let (v, s) = try ModelData.load(val, for: classifier, size: trainSize) { d, t in
                loading.update("loading \(val): \(d)/\(t) \(noun)", final: d == t)
            }
            report(s)
            validation = v
        }

        let trainer = try ClassifierTrainer(model: classifier, options: options)
        if let resumeFile { try trainer.resume(from: resumeFile, path: checkpointURL.path) }
        do {
            try fm.createDirectory(at: runDir, withIntermediateDirectories: true)
            try AtomicFile.write(JSONEncoder.pretty.encode(runData), to: runDataURL)
        } catch { throw CommandError("\(out): cannot write the run folder: \(FileErrorText.describe(error))") }
        let c = classifier.config
        Stderr.line("train-classifier: \(train.count) training, \(validation?.count ?? 0) validation \(noun), \(c.classes) classes, " +
                    "\(sizeText(c.trainSize)), H=\(c.dModel) layers=\(c.layers) block \(c.block ?? "s4") kernel \(c.kernelOptions.summary), " +
                    "\(classifier.parameters.reduce(0) { $0 + $1.value.count }) parameters" +
                    (trainer.epoch > 0 ? "; resuming after epoch \(trainer.epoch)" : ""))

        let bar = ProgressLine(interval: 10)
        let started = Date()
        var epochStart = Date()
        func metrics(_ status: String) -> RunMetrics {
            RunMetrics(status: status, config: classifier.config, options: options, trainImages: train.count,
                       validationImages: validation?.count ?? 0, history: trainer.history,
                       seconds: trainer.history.reduce(0) { $0 + $1.seconds })
        }
        installStopHandler()
        trainer.shouldStop = { stopRequested != 0 }
        do {
            try trainer.run(train: train, validation: validation, checkpoint: checkpointURL, progress: { p in
                let perStep = Date().timeIntervalSince(epochStart) / Double(p.step)
                let eta = perStep * Double((p.stepsPerEpoch - p.step) + (p.epochs - p.epoch) * p.stepsPerEpoch)
                bar.update(Self.progressText(p, eta: eta), final: p.step == p.stepsPerEpoch)
            }, onEpoch: { m in
                bar.finish()
                epochStart = Date()
                var line = JSONLine()
                line.add("epoch", m.epoch)
                line.add("epochs", options.epochs)
                line.add("step", trainer.step)
                line.add("train_loss", Double(m.trainLoss))
                line.add("train_accuracy", Double(m.trainAccuracy))
                line.add("val_loss", m.validationLoss.map { .double(Double($0)) } ?? .null)
                line.add("val_accuracy", m.validationAccuracy.map { .double(Double($0)) } ?? .null)
                line.add("images_per_s", m.imagesPerSecond)
                line.add("seconds", m.seconds)
                line.print()
                // metrics.json after every epoch, not only at the end.
                try? AtomicFile.write(JSONEncoder.pretty.encode(metrics("running")), to: metricsURL)
            })
        } catch let stop as TrainingInterrupted {
            bar.finish()
            try? AtomicFile.write(JSONEncoder.pretty.encode(metrics("interrupted")), to: metricsURL)
            throw CommandError("\(stop)")
        } catch let diverged as TrainingDiverged {
            bar.finish()
            var m = metrics("diverged")
            m.message = diverged.description
            try? AtomicFile.write(JSONEncoder.pretty.encode(m), to: metricsURL)
            throw CommandError("\(diverged)")
        }
        bar.finish()

        let seconds = Date().timeIntervalSince(started)
        do {
            try ClassifierCheckpoint.save(classifier, to: modelURL)
            try AtomicFile.write(JSONEncoder.pretty.encode(metrics("finished")), to: metricsURL)
        } catch { throw CommandError("\(out): cannot write the final model or metrics: \(error)") }
        let last = trainer.history.last
        var line = JSONLine()
        line.add("model", modelURL.path)
        line.add("checkpoint", checkpointURL.path)
        line.add("metrics", metricsURL.path)
        line.add("epochs", trainer.epoch)
        line.add("steps", trainer.step)
        line.add("train_accuracy", last.map { .double(Double($0.trainAccuracy)) } ?? .null)
        line.add("val_accuracy", last?.validationAccuracy.map { .double(Double($0)) } ?? .null)
        line.add("val_loss", last?.validationLoss.map { .double(Double($0)) } ?? .null)
        line.add("seconds", seconds)
        line.print()
    }

    static func progressText(_ p: TrainingProgress, eta: Double) -> String {
        let width = 20
        let filled = min(width, p.step * width / max(p.stepsPerEpoch, 1))
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        return "epoch \(p.epoch)/\(p.epochs) [\(bar)] \(p.step)/\(p.stepsPerEpoch) " +
            String(format: "loss %.4f acc %.1f%% %.0f img/s", p.loss, 100 * p.accuracy, p.imagesPerSecond) + " ETA " + formatDuration(eta)
    }

    func report(_ skipped: [MediaError]) {
        guard !skipped.isEmpty else { return }
        Stderr.line("warning: skipped \(skipped.count) unreadable image(s):")
        for e in skipped.prefix(5) { Stderr.line("  \(e)") }
        if skipped.count > 5 { Stderr.line("  …") }
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}

/// Whole-file writes that never leave a partial file: a temporary file beside the target, renamed.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        try data.write(to: url, options: .atomic)
    }
}
