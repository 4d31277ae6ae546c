import ArgumentParser
import Foundation
import MediaIO
import Sashimi
import SSMCore
import Workflows

/// Loads labelled audio `root/<class>/*` for `names` (all folder names when nil).
func labelledAudio(_ root: String, sampleRate: Int, quantizer: AudioQuantizer, names: [String]?) throws -> (AudioDataset, [Int], [String]) {
    let loading = ProgressLine(interval: 10)
    var (data, skipped) = try AudioDataset.load(root, sampleRate: sampleRate, quantizer: quantizer) { d, t in
        loading.update("loading \(root): \(d)/\(t) files", final: d == t)
    }
    if !skipped.isEmpty { Stderr.line("warning: skipped \(skipped.count) unreadable file(s), e.g. \(skipped[0])") }
    let folders = data.folderLabels
    let classNames = names ?? Array(Set(folders)).sorted()
    let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
    var keep: [Int] = [], labels: [Int] = []
    for (i, f) in folders.enumerated() { if let y = index[f] { keep.append(i); labels.append(y) } }
    if keep.count < folders.count { Stderr.line("warning: \(folders.count - keep.count) file(s) in folders that are not classes of the model") }
    data.clips = keep.map { data.clips[$0] }
    return (data, labels, classNames)
}

/// `ssm train-audio-classifier`: the small 1-D S4 classifier used to measure generated audio.
struct TrainAudioClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-audio-classifier",
        abstract: "Train a small 1-D S4 audio classifier on DIR/<class>/*.wav (the yardstick of ssm audio-metrics).",
        discussion: """
            Files are loaded as for train-sashimi (mono, resampled, peak 1, mu-law). Each step takes \
            random windows of --length samples (shorter clips at a random offset in silence). The \
            model (bidirectional S4 blocks with pooling, mean over time, linear head) is written to \
            OUT after every epoch; one JSON line per epoch with the validation accuracy.

            Example:
              ssm train-audio-classifier --data data/spoken-digits/train --val data/spoken-digits/val \\
                  --out models/spoken-digits-classifier.safetensors --epochs 3
            """)

    @Option(help: "Training folder: DIR/<class>/<audio files>.") var data: String
    @Option(help: "Validation folder with the same classes.") var val: String?
    @Option(help: "Model file to write.") var out: String
    @Option(help: "Epochs (default 3).") var epochs: Int = 3
    @Option(name: .customLong("batch-size"), help: "Windows per step (default 16).") var batchSize: Int = 16
    @Option(help: "Samples per window (default 8192).") var length: Int = 8192
    @Option(name: .customLong("sample-rate"), help: "Sample rate (default 8000).") var sampleRate: Int = 8000
    @Option(name: .customLong("d-model"), help: "Features of the finest tier (default 32).") var dModel: Int = 32
    @Option(help: "Learning rate (default 0.004).") var lr: Float = 0.004
    @Option(help: "Seed (default 0).") var seed: UInt64 = 0

    func validate() throws {
        if epochs < 1 || batchSize < 1 || dModel < 1 { throw ValidationError("--epochs, --batch-size and --d-model must be at least 1") }
        if length < 64 || length % 64 != 0 { throw ValidationError("--length must be a positive multiple of 64 (got \(length))") }
        if !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive (got \(lr))") }
    }

    func run() throws {
        var config = AudioClassifierConfig()
        config.sampleRate = sampleRate; config.dModel = dModel; config.length = length
        let (train, labels, names) = try labelledAudio(data, sampleRate: sampleRate, quantizer: config.quantization, names: nil)
        guard names.count >= 2 else { throw CommandError("\(data): found \(names.count) class folder; a classifier needs at least 2") }
        config.classNames = names
        let validation = try val.map { try labelledAudio($0, sampleRate: sampleRate, quantizer: config.quantization, names: names) }
        var rng = SeededRNG(seed: seed)
        let model = AudioClassifier(config, rng: &rng)
        Stderr.line("train-audio-classifier: \(train.count) files, \(names.count) classes, \(model.parameters.reduce(0) { $0 + $1.value.count }) parameters")
        let bar = ProgressLine(interval: 10)
        let started = Date()
        try AudioClassification.train(model, data: train, labels: labels, validation: validation.map { ($0.0, $0.1) }, epochs: epochs,
                                      batchSize: batchSize, learningRate: lr, seed: seed, progress: { s, n, loss in
            bar.update(String(format: "step %d/%d loss %.4f", s, n, loss), final: s == n)
        }, onEpoch: { epoch, loss, accuracy in
            bar.finish()
            do { try AudioClassifierFile.save(model, to: URL(fileURLWithPath: out)) }
            catch { throw CommandError("\(out): cannot write the model: \(error)") }
            var line = JSONLine()
            line.add("epoch", epoch)
            line.add("train_loss", loss)
            line.add("val_accuracy", accuracy.map { .double($0) } ?? .null)
            line.add("seconds", Date().timeIntervalSince(started))
            line.print()
            fflush(stdout)
        })
    }
}

/// `ssm audio-metrics`: the SaShiMi paper's automated metrics of a set of audio files.
struct AudioMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio-metrics",
        abstract: "Inception Score and modified Inception Score of audio files under an audio classifier.",
        discussion: """
            Classifies every file (centred in the classifier's window) and prints one JSON line: \
            the number of files, IS = exp(E KL(p(y|x) || p(y))), mIS = exp(E KL(p(y|x) || p(y|x'))) over \
            independent pairs of files (as the SaShiMi paper's metrics.py), the mean top probability, \
            and how many files the classifier assigns to each class. With a labelled folder \
            (DIR/<class>/*), also the accuracy.

            Examples:
              ssm audio-metrics gen/                                  # generated samples
              ssm audio-metrics data/spoken-digits/test --labelled    # real clips, with accuracy
            """)

    @Argument(help: "Audio files or folders.") var paths: [String] = []
    @Option(help: "Classifier (default: $SSM_AUDIO_CLASSIFIER or the shipped models/spoken-digits-classifier.safetensors).") var classifier: String?
    @Flag(help: "Files are in DIR/<class>/ folders: report the accuracy too.") var labelled = false

    func validate() throws { if paths.isEmpty { throw ValidationError("give at least one audio file or folder") } }

    func run() throws {
        let model = try loadAudioClassifier(classifier)
        let c = model.config
        var clips: [AudioClip] = [], labels: [Int] = []
        for p in paths {
            let (d, l, _) = try labelledAudio(p, sampleRate: c.sampleRate, quantizer: c.quantization, names: labelled ? c.classNames : nil)
            clips += d.clips
            if labelled { labels += l }
        }
        let data = AudioDataset(clips: clips, sampleRate: c.sampleRate, quantizer: c.quantization)
        let p = try AudioClassification.probabilities(model, data)
        let (inception, modified) = AudioClassification.inceptionScores(p)
        let top = p.map { row in row.indices.max { row[$0] < row[$1] }! }
        var counts = [Int](repeating: 0, count: c.classes)
        for t in top { counts[t] += 1 }
        var line = JSONLine()
        line.add("files", p.count)
        line.add("inception_score", inception)
        line.add("modified_inception_score", modified)
        line.add("mean_top_probability", p.reduce(0) { $0 + $1.max()! } / Double(max(p.count, 1)))
        var hist = JSONLine()
        for (i, n) in counts.enumerated() { hist.add(c.classNames[i], n) }
        line.add("predicted", .object(hist))
        if labelled { line.add("accuracy", Double(zip(top, labels).filter { $0 == $1 }.count) / Double(max(labels.count, 1))) }
        line.print()
    }
}

/// The audio classifier at `path`, or the default one.
func loadAudioClassifier(_ path: String?) throws -> AudioClassifier {
    let url: URL
    do { url = try path.map { URL(fileURLWithPath: $0) } ?? DefaultModel.locateAudioClassifier() }
    catch DefaultModel.LocateError.notFound(let dir) {
        throw CommandError("no audio classifier given and \(DefaultModel.audioClassifierRelativePath) not found above \(dir); train one with ssm train-audio-classifier and pass it with --classifier")
    }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { throw CommandError("\(url.path): no such model file") }
    if isDir.boolValue { throw CommandError("\(url.path): is a folder, not a model file") }
    return try AudioClassifierFile.load(url)
}
