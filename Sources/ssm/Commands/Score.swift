import ArgumentParser
import Foundation
import MediaIO
import Sashimi
import SSMCore
import Workflows

/// `ssm score FILES|DIRS`: how likely a SaShiMi model finds each audio file.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Negative log-likelihood of audio files under a SaShiMi model, in bits per sample.",
        discussion: """
            Each file is mixed to mono, resampled to the model's rate, scaled to peak 1 and quantised \
            as in training, then scored in convolution mode: the NLL of every sample given the ones \
            before it (the first given silence), in bits per sample — 8 is what a model that knows \
            nothing scores with 256 classes. Files longer than --window samples are scored in \
            independent windows. Folders are searched recursively for audio files.

            One JSON line per file: {"file", "samples", "seconds", "bits_per_sample"}; a file that \
            cannot be read gets {"file", "error"}, the others are still scored, and the exit status is 1.
            --summary adds a last line with the sample-weighted mean; --baseline-data DIR adds, on the \
            same files, the count-based baselines fitted on DIR (unigram: the entropy of the class \
            distribution; bigram and trigram predictors).

            Examples:
              ssm score data/spoken-digits/test --summary
              ssm score a.wav b.flac --model runs/digits/model.safetensors
              ssm score data/spoken-digits/test --summary --baseline-data data/spoken-digits/train
            """)

    @Argument(help: "Audio files or folders.") var paths: [String] = []
    @Option(help: "Model file (default: $SSM_AUDIO_MODEL or the shipped models/spoken-digits-sashimi.safetensors).") var model: String?
    @Option(help: "Longest window scored at once, in samples (default 32768).") var window: Int = 32768
    @Flag(help: "Print a summary line after the files.") var summary = false
    @Option(name: .customLong("baseline-data"), help: "Fit unigram/bigram/trigram baselines on this folder and score them on the same files (implies --summary).") var baselineData: String?

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one audio file or folder") }
        if window < 16 { throw ValidationError("--window must be at least 16 (got \(window))") }
    }

    func run() throws {
        let (m, modelPath) = try loadAudioModel(model)
        let rate = m.config.sampleRate, q = m.config.quantization
        var failed = 0, scoredFiles = 0, totalBits = 0.0, totalSamples = 0
        var scored: [AudioClip] = []
        for p in paths {
            let files: [String]
            do { files = try AudioDataset.list(p) } catch { files = [p] }
            if files.isEmpty {
                var line = JSONLine(); line.add("file", p); line.add("error", "no audio files in this folder"); line.print()
                failed += 1
                continue
            }
            for f in files {
                var line = JSONLine()
                line.add("file", f)
                do {
                    let clip = try AudioDataset.clip(f, sampleRate: rate, quantizer: q)
                    guard !clip.classes.isEmpty else { throw MediaError(file: f, reason: .empty) }
                    let r = try AudioEvaluation.bitsPerSample(m, clip: clip, window: window)
                    guard r.bits.isFinite else { throw CommandError("the model produced non-finite scores") }
                    line.add("samples", clip.classes.count)
                    line.add("seconds", Double(clip.classes.count) / Double(rate))
                    line.add("bits_per_sample", r.bits)
                    totalBits += r.bits * Double(r.samples); totalSamples += r.samples; scoredFiles += 1
                    if baselineData != nil { scored.append(clip) }
                } catch {
                    line.add("error", errorText(error, file: f))
                    failed += 1
                }
                line.print()
            }
        }
        if summary || baselineData != nil {
            var line = JSONLine()
            line.add("summary", .bool(true))
            line.add("model", modelPath)
            line.add("files", scoredFiles)
            line.add("samples", totalSamples)
            line.add("bits_per_sample", totalSamples > 0 ? .double(totalBits / Double(totalSamples)) : .null)
            if let baselineData {
                let (train, _) = try AudioDataset.load(baselineData, sampleRate: rate, quantizer: q)
                for (name, order) in [("unigram", 0), ("bigram", 1), ("trigram", 2)] {
                    let b = NGramBaseline(order: order, clips: train.clips, quantizer: q)
                    line.add("\(name)_bits_per_sample", b.bitsPerSample(scored, quantizer: q))
                }
            }
            line.print()
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
