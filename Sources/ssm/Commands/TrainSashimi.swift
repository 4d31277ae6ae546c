import ArgumentParser
import Foundation
import MediaIO
import Sashimi
import SSMCore
import Workflows

/// Set by SIGINT/SIGTERM; long commands stop cleanly at the next step.
nonisolated(unsafe) var stopRequested: Int32 = 0

/// Routes SIGINT and SIGTERM to ``stopRequested`` (a second signal kills as usual).
func installStopHandler() {
    for s in [SIGINT, SIGTERM] {
        signal(s) { sig in
            if stopRequested != 0 { signal(sig, SIG_DFL); raise(sig) }
            stopRequested = 1
        }
    }
}

/// `ssm train-sashimi --data DIR --out RUN_DIR`: trains an autoregressive SaShiMi on audio.
struct TrainSashimi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-sashimi",
        abstract: "Train an autoregressive SaShiMi audio model on a folder of audio.",
        discussion: """
            DIR is searched recursively for audio files (wav, flac, ogg, opus, aiff, au, caf, mp3, …). \
            Each is mixed to mono, resampled to --sample-rate, scaled to peak 1 and quantised (8-bit \
            mu-law by default). Without --val, a seeded fraction of the files (--val-fraction, default \
            0.1) is held out for validation.

            Each step trains on --batch-size random windows of --length samples (clips shorter than a \
            window are placed at a random offset in silence), with AdamW, a cosine schedule after \
            --warmup steps and gradient clipping. The loss is the negative log-likelihood of the \
            next sample, reported in bits per sample; validation counts real samples only.

            RUN_DIR receives:
              checkpoint.safetensors  every --checkpoint-every steps: model, optimiser, step, RNG
              model.safetensors       the final model (ssm generate, ssm score)
              metrics.json            configuration, options, data, history, status (after every evaluation)
              run.json                the data folders and their fingerprint (checked by --resume)
            Standard output: one JSON line per evaluation, then one with the final figures. \
            Standard error: progress (a bar on a terminal, else a line about every 10 s).

            --block swaps the residual S4 blocks for S5, Mamba or gated (GSS) blocks, as the Mamba \
            paper does for SaShiMi (d_state sets their state size).
            --kernel swaps the S4 kernel of every residual S4 block (s4d by default; dplr, dss, dlr, \
            ema, sgconv or conv, with --init, --disc, --reparam, --kernel-dim); kernels of a fixed \
            length (dplr, sgconv, conv) are sized for --length, divided per tier. The kernel is \
            recorded in the model, so generate and score need no flag; generation runs each \
            kernel's recurrence (DPLR diagonalised, SGConv and conv as FIR filters).

            Ctrl-C (SIGINT) or SIGTERM stops after the current step, writes the checkpoint and \
            prints how to continue. --resume continues RUN_DIR/checkpoint.safetensors bit-exactly \
            with the options it was started with; only --steps may be raised.

            Examples:
              bash scripts/make-spoken-digits.sh data/digits
              ssm train-sashimi --data data/digits/train --val data/digits/val --out runs/digits
              ssm train-sashimi --data data/digits/train --val data/digits/val --out runs/digits --resume --steps 8000
              # a tiny quick run
              ssm train-sashimi --data samples/audio --out /tmp/tiny --d-model 16 --layers 1 --steps 20 --length 1024
            """)

    @Option(help: "Folder of training audio (searched recursively).") var data: String
    @Option(help: "Folder of validation audio (default: hold out --val-fraction of --data).") var val: String?
    @Option(name: .customLong("val-fraction"), help: "Fraction of the --data files held out when no --val is given (0 = none; default 0.1).") var valFraction: Double?
    @Option(help: "Run folder.") var out: String
    @Flag(help: "Continue RUN_DIR/checkpoint.safetensors.") var resume = false

    @Option(name: .customLong("sample-rate"), help: "Model sample rate in Hz (default 8000).") var sampleRate: Int?
    @Option(help: "Quantisation: mulaw (default) or linear.") var quantization: AudioQuantizer.Kind?
    @Option(help: "Bits per sample, 2^bits classes (default 8).") var bits: Int?
    @Option(name: .customLong("d-model"), help: "Features H of the finest tier (default 32).") var dModel: Int?
    @Option(help: "Residual S4 + FF block pairs per tier (n_layers, default 2).") var layers: Int?
    @Option(help: "Pooling factors, comma-separated (default 4,4).") var pool: String?
    @Option(help: "Feature expansion per pooling (default 2).") var expand: Int?
    @Option(help: "Feed-forward expansion (0 = no FF blocks; default 2).") var ff: Int?
    @Option(name: .customLong("d-state"), help: "S4 state size N, even (default 64; 16 with --block mamba).") var dState: Int?
    @Option(name: .customLong("n-ssm"), help: "Independent (A, B) copies per S4 layer (default 1).") var nSSM: Int?
    @Option(help: "Dropout in the residual and FF blocks (default 0).") var dropout: Float?
    @OptionGroup(title: "Kernel") var kernelGroup: KernelOptionGroup

    @Option(help: "Optimiser steps (default 4000).") var steps: Int?
    @Option(name: .customLong("batch-size"), help: "Windows per step (default 8).") var batchSize: Int?
    @Option(help: "Samples per window, a multiple of the pooling product (default 8192).") var length: Int?
    @Option(help: "Peak learning rate (default 0.004).") var lr: Float?
    @Option(name: .customLong("ssm-lr"), help: "Peak learning rate of the SSM parameters (default 0.001).") var ssmLR: Float?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (default 0.01).") var weightDecay: Float?
    @Option(help: "Linear warm-up steps (default 100).") var warmup: Int?
    @Option(name: .customLong("eval-every"), help: "Validate every N steps (default 250).") var evalEvery: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (default 250).") var checkpointEvery: Int?
    @Option(help: "Seed of initialisation, windows, dropout and the validation split (default 0).") var seed: UInt64?

    func validate() throws {
        for (v, name) in [(sampleRate, "--sample-rate"), (dModel, "--d-model"), (steps, "--steps"), (batchSize, "--batch-size"),
                          (length, "--length"), (evalEvery, "--eval-every"), (checkpointEvery, "--checkpoint-every"),
                          (expand, "--expand"), (nSSM, "--n-ssm")] {
            if let v, v < 1 { throw ValidationError("\(name) must be at least 1 (got \(v))") }
        }
        for (v, name) in [(layers, "--layers"), (ff, "--ff"), (warmup, "--warmup")] {
            if let v, v < 0 { throw ValidationError("\(name) must be 0 or more (got \(v))") }
        }
        if let bits, !(1...12).contains(bits) { throw ValidationError("--bits must be in 1…12 (got \(bits))") }
        if let dState, dState < 2 || dState % 2 != 0 { throw ValidationError("--d-state must be even and at least 2 (got \(dState))") }
        if let v = valFraction, !(v >= 0 && v < 1) { throw ValidationError("--val-fraction must be in [0, 1) (got \(v))") }
        if val != nil && valFraction != nil { throw ValidationError("give either --val or --val-fraction, not both") }
        for (v, name) in [(lr, "--lr"), (ssmLR, "--ssm-lr")] { if let v, !(v > 0 && v.isFinite) { throw ValidationError("\(name) must be positive (got \(v))") } }
        if let v = weightDecay, !(v >= 0 && v.isFinite) { throw ValidationError("--weight-decay must be 0 or more (got \(v))") }
        if let v = dropout, !(v >= 0 && v < 1) { throw ValidationError("--dropout must be in [0, 1) (got \(v))") }
        if let pool, parsedPool(pool) == nil { throw ValidationError("--pool must be comma-separated positive integers, e.g. 4,4 (got '\(pool)')") }
        if !resume { _ = try freshConfig() }
    }

    func parsedPool(_ text: String) -> [Int]? {
        if text.isEmpty || text == "none" { return [] }
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.map { $0! }
    }

    func freshConfig() throws -> AudioModelConfig {
        var c = AudioModelConfig()
        c.backbone.dModel = dModel ?? 32
        c.backbone.nLayers = layers ?? 2
        if let pool { c.backbone.pool = parsedPool(pool)! }
        if let expand { c.backbone.expand = expand }
        if let ff { c.backbone.ff = ff }
        if let dState { c.backbone.dState = dState }
        if let nSSM { c.backbone.nSSM = nSSM }
        if let dropout { c.backbone.dropout = dropout }
        if let sampleRate { c.sampleRate = sampleRate }
        c.quantization = AudioQuantizer(kind: quantization ?? .mulaw, bits: bits ?? 8)
        let k = try kernelGroup.applied(to: c.backbone.kernelOptions)
        c.backbone.setKernel(k)
        let block = try kernelGroup.blockKind()
        c.backbone.block = block == .s4 ? nil : block.rawValue
        if block == .mamba && dState == nil { c.backbone.dState = 16 }        // Mamba's own default
        c.backbone.smr = kernelGroup.smr
        // Kernels of a fixed length get the training window (divided per tier).
        if ["dplr", "sgconv", "conv"].contains(k.kernel) { c.backbone.lMax = length ?? AudioTrainingOptions().length }
        return c
    }

    func freshOptions() -> AudioTrainingOptions {
        var o = AudioTrainingOptions()
        if let steps { o.steps = steps }
        if let batchSize { o.batchSize = batchSize }
        if let length { o.length = length }
        if let lr { o.learningRate = lr }
        if let ssmLR { o.ssmLearningRate = ssmLR }
        if let weightDecay { o.weightDecay = weightDecay }
        if let warmup { o.warmupSteps = warmup }
        if let evalEvery { o.evalEvery = evalEvery }
        if let checkpointEvery { o.checkpointEvery = checkpointEvery }
        if let seed { o.seed = seed }
        return o
    }

    /// Command-line options that differ from a checkpoint's (for --resume).
    func conflicts(_ c: AudioModelConfig, _ o: AudioTrainingOptions) -> [String] {
        guard let fresh = try? freshConfig() else { return ["invalid model options"] }
        let given = freshOptions()
        var out: [String] = []
        func check<T: Equatable>(_ flag: Bool, _ a: T, _ b: T, _ name: String) { if flag && a != b { out.append("\(name) \(a) (checkpoint: \(b))") } }
        check(dModel != nil, fresh.backbone.dModel, c.backbone.dModel, "--d-model")
        check(layers != nil, fresh.backbone.nLayers, c.backbone.nLayers, "--layers")
        check(pool != nil, fresh.backbone.pool, c.backbone.pool, "--pool")
        check(expand != nil, fresh.backbone.expand, c.backbone.expand, "--expand")
        check(ff != nil, fresh.backbone.ff, c.backbone.ff, "--ff")
        check(dState != nil, fresh.backbone.dState, c.backbone.dState, "--d-state")
        check(nSSM != nil, fresh.backbone.nSSM, c.backbone.nSSM, "--n-ssm")
        check(dropout != nil, fresh.backbone.dropout, c.backbone.dropout, "--dropout")
        out += kernelGroup.conflicts(with: c.backbone.kernelOptions)
        if let b = kernelGroup.block, b != (c.backbone.block ?? "s4") { out.append("--block \(b) (checkpoint: \(c.backbone.block ?? "s4"))") }
        if let w = kernelGroup.smr, w != c.backbone.smr { out.append("--smr \(w) (checkpoint: \(c.backbone.smr.map(String.init) ?? "none"))") }
        check(sampleRate != nil, fresh.sampleRate, c.sampleRate, "--sample-rate")
        check(quantization != nil || bits != nil, fresh.quantization, c.quantization, "--quantization/--bits")
        check(batchSize != nil, given.batchSize, o.batchSize, "--batch-size")
        check(length != nil, given.length, o.length, "--length")
        check(lr != nil, given.learningRate, o.learningRate, "--lr")
        check(ssmLR != nil, given.ssmLearningRate, o.ssmLearningRate, "--ssm-lr")
        check(weightDecay != nil, given.weightDecay, o.weightDecay, "--weight-decay")
        check(warmup != nil, given.warmupSteps, o.warmupSteps, "--warmup")
        check(seed != nil, given.seed, o.seed, "--seed")
        return out
    }

    /// What RUN_DIR/run.json records about the data (checked by --resume).
    struct RunData: Codable, Equatable {
        var data: String
        var val: String?
        var valFraction: Double
        var files: Int
        var fingerprint: String
        enum CodingKeys: String, CodingKey { case data, val, valFraction = "val_fraction", files, fingerprint }
    }

    struct RunMetrics: Encodable {
        var status: String
        var config: AudioModelConfig
        var options: AudioTrainingOptions
        var trainFiles: Int, validationFiles: Int
        var trainSeconds: Double, validationSeconds: Double
        var history: [AudioEvaluationRecord]
        var message: String?
        enum CodingKeys: String, CodingKey {
            case status, config, options, trainFiles = "train_files", validationFiles = "val_files"
            case trainSeconds = "train_audio_s", validationSeconds = "val_audio_s", history, message
        }
    }


    func run() throws {
        let fm = FileManager.default
        let runDir = URL(fileURLWithPath: out)
        let checkpointURL = runDir.appendingPathComponent("checkpoint.safetensors")
        let modelURL = runDir.appendingPathComponent("model.safetensors")
        let metricsURL = runDir.appendingPathComponent("metrics.json")
        let runDataURL = runDir.appendingPathComponent("run.json")
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDir), !isDir.boolValue { throw CommandError("\(out): exists and is not a folder") }

        var model: SashimiAudioModel
        var options: AudioTrainingOptions
        var resumeFile: SafeTensorsFile?
        if resume {
            guard fm.fileExists(atPath: checkpointURL.path) else {
                throw CommandError("\(checkpointURL.path): no checkpoint to resume (train without --resume first)")
            }
            let (m, file) = try AudioCheckpoint.load(checkpointURL)
            guard let text = file.metadata["options"], let stored = try? JSONDecoder().decode(AudioTrainingOptions.self, from: Data(text.utf8)) else {
                throw CommandError("\(checkpointURL.path): not a training checkpoint (no training options in its metadata)")
            }
            let bad = conflicts(m.config, stored)
            guard bad.isEmpty else {
                throw CommandError("--resume continues with the checkpoint's options; these differ: \(bad.joined(separator: ", ")). Only --steps may change.")
            }
            options = stored
            if let steps {
                let done = Int(file.metadata["step"] ?? "") ?? 0
                guard steps >= done else { throw CommandError("--steps \(steps) is below the checkpoint's step \(done)") }
                options.steps = steps
            }
            if let evalEvery { options.evalEvery = evalEvery }
            if let checkpointEvery { options.checkpointEvery = checkpointEvery }
            model = m
            resumeFile = file
        } else {
            if fm.fileExists(atPath: checkpointURL.path) {
                throw CommandError("\(checkpointURL.path) exists: add --resume to continue that run, or choose another --out")
            }
            let config = try freshConfig()
            let problems = config.problems
            guard problems.isEmpty else { throw CommandError("invalid model options: \(problems.joined(separator: "; "))") }
            options = freshOptions()
            var rng = SeededRNG(seed: options.seed)
            model = SashimiAudioModel(config, rng: &rng)
        }
        let c = model.config

        // Data.
        let files = try AudioDataset.list(data)
        var runData = RunData(data: data, val: val, valFraction: val == nil ? (valFraction ?? 0.1) : 0,
                              files: files.count, fingerprint: DataFingerprint.of(files + (try val.map { try AudioDataset.list($0) } ?? [])))
        if resume, let d = try? Data(contentsOf: runDataURL), let saved = try? JSONDecoder().decode(RunData.self, from: d) {
            if valFraction == nil && val == nil { runData.valFraction = saved.valFraction }
            guard saved.fingerprint == runData.fingerprint && saved.files == runData.files else {
                throw CommandError("--resume: the data differs from the run's (\(saved.files) files, fingerprint \(saved.fingerprint) in \(runDataURL.path); now \(runData.files) files, \(runData.fingerprint)). Use the same --data/--val, or start a new --out.")
            }
        }
        let loading = ProgressLine(interval: 10)
        var (train, skipped) = try AudioDataset.load(data, sampleRate: c.sampleRate, quantizer: c.quantization) { d, t in
            loading.update("loading \(data): \(d)/\(t) files", final: d == t)
        }
        var validation: AudioDataset?
        if let val {
            let (v, s) = try AudioDataset.load(val, sampleRate: c.sampleRate, quantizer: c.quantization) { d, t in
                loading.update("loading \(val): \(d)/\(t) files", final: d == t)
            }
            validation = v; skipped += s
        } else if runData.valFraction > 0 {
            guard train.count >= 2 else { throw CommandError("\(data): \(train.count) readable file; cannot hold out a validation split (use --val-fraction 0 or --val)") }
            let (rest, held) = train.split(holdOut: runData.valFraction, seed: options.seed)
            train = rest; validation = held
        }
        if !skipped.isEmpty {
            Stderr.line("warning: skipped \(skipped.count) unreadable file(s):")
            for e in skipped.prefix(5) { Stderr.line("  \(e)") }
        }

        let trainer: AudioTrainer
        do { trainer = try AudioTrainer(model: model, options: options) } catch { throw CommandError("\(error)") }
        if let resumeFile { try trainer.resume(from: resumeFile, path: checkpointURL.path) }
        do {
            try fm.createDirectory(at: runDir, withIntermediateDirectories: true)
            try AtomicFile.write(JSONEncoder.pretty.encode(runData), to: runDataURL)
        } catch { throw CommandError("\(out): cannot write the run folder: \(FileErrorText.describe(error))") }
        let parameters = model.parameters.reduce(0) { $0 + $1.value.count }
        Stderr.line(String(format: "train-sashimi: %d training files (%.1f s), %d validation files (%.1f s) at %d Hz, ",
                           train.count, train.seconds, validation?.count ?? 0, validation?.seconds ?? 0, c.sampleRate) +
                    "H=\(c.backbone.dModel) n_layers=\(c.backbone.nLayers) pool=\(c.backbone.pool) N=\(c.backbone.dState), \(parameters) parameters" +
                    (trainer.step > 0 ? "; resuming after step \(trainer.step)" : ""))

        func writeMetrics(_ status: String, _ message: String? = nil) throws {
            let m = RunMetrics(status: status, config: c, options: options, trainFiles: train.count, validationFiles: validation?.count ?? 0,
                               trainSeconds: train.seconds, validationSeconds: validation?.seconds ?? 0, history: trainer.history, message: message)
            do { try AtomicFile.write(JSONEncoder.pretty.encode(m), to: metricsURL) }
            catch { throw CommandError("\(metricsURL.path): cannot write: \(FileErrorText.describe(error))") }
        }

        installStopHandler()
        let bar = ProgressLine(interval: 10)
        let started = Date()
        do {
            try trainer.run(train: train, validation: validation, checkpoint: checkpointURL, shouldStop: { stopRequested != 0 }, progress: { p in
                let elapsed = Date().timeIntervalSince(started)
                let done = Double(p.step - (resumeFile.flatMap { Int($0.metadata["step"] ?? "") } ?? 0))
                let eta = done > 0 ? elapsed / done * Double(p.steps - p.step) : .nan
                bar.update(String(format: "step %d/%d  %.3f bits/sample  %.0f samples/s  ETA %@", p.step, p.steps, p.bitsPerSample,
                                  p.samplesPerSecond, formatDuration(eta)), final: p.step == p.steps)
            }, onEvaluation: { r in
                bar.finish()
                var line = JSONLine()
                line.add("step", r.step)
                line.add("steps", options.steps)
                line.add("train_bits_per_sample", r.trainBitsPerSample)
                line.add("val_bits_per_sample", r.validationBitsPerSample.map { .double($0) } ?? .null)
                line.add("samples_per_s", r.samplesPerSecond)
                line.add("seconds", r.seconds)
                line.print()
                fflush(stdout)
                try? writeMetrics("running")
            })
        } catch let e as AudioTrainingError {
            bar.finish()
            try writeMetrics("diverged", e.description)
            throw CommandError(e.description)
        }
        bar.finish()
        if stopRequested != 0 {
            try trainer.saveCheckpoint(to: checkpointURL)
            try writeMetrics("interrupted")
            Stderr.line("interrupted at step \(trainer.step) — checkpoint written; continue with --resume")
            throw ExitCode(130)
        }
        do { try AudioCheckpoint.save(model, to: modelURL) } catch { throw CommandError("\(modelURL.path): cannot write the model: \(error)") }
        try writeMetrics("completed")
        var line = JSONLine()
        line.add("model", modelURL.path)
        line.add("checkpoint", checkpointURL.path)
        line.add("metrics", metricsURL.path)
        line.add("steps", trainer.step)
        line.add("train_bits_per_sample", trainer.history.last.map { .double($0.trainBitsPerSample) } ?? .null)
        line.add("val_bits_per_sample", trainer.history.last?.validationBitsPerSample.map { .double($0) } ?? .null)
        line.add("seconds", Date().timeIntervalSince(started))
        line.print()
    }
}

extension AudioQuantizer.Kind: ExpressibleByArgument {}
