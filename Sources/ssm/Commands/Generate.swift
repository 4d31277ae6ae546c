import ArgumentParser
import Foundation
import MediaIO
import Sashimi
import SSMCore
import Workflows

/// `ssm generate`: raw audio from a SaShiMi model, sample by sample in recurrent mode.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate audio with a SaShiMi model (recurrent mode, many samples in parallel).",
        discussion: """
            Each sequence starts from silence (or from a prompt) and draws one sample at a time from \
            the model's distribution of the next sample, at --temperature and with nucleus sampling \
            (--top-p). Sequences run in parallel over the cores; each has its own random stream, so \
            the same --seed gives the same bytes whatever --count or --threads.

            --out FILE.wav   one sequence (or the best one with --keep-best 1)
            --out DIR        DIR/sample-000.wav, … (DIR/<prompt>-000.wav with prompts) and DIR/summary.json
            --out -          stream one WAV to standard output while it is generated \
            (ssm generate --out - | aplay)
            Files are written to a temporary name and renamed, so an interrupted run leaves no broken WAV.

            Every sequence is scored under the model: log-likelihood (nats), bits per sample and the \
            mean entropy of the model's next-sample distribution (bits), printed as one JSON line per \
            written file (on standard error with --out -). --keep-best K keeps the K most likely \
            sequences, as the SaShiMi paper does.

            --prompt FILE|DIR continues real audio: the first --prompt-seconds of each file (resampled \
            to the model's rate) are fed first; --count continuations are made of each.

            Model: --model, else $SSM_AUDIO_MODEL, else models/spoken-digits-sashimi.safetensors.

            Speed: one sequence runs each step's kernels over all cores; several run one group per \
            core. --weights f16 keeps the step's matrices in half precision (the SSM coefficients \
            and all arithmetic stay Float): fewer bytes per sample, so faster where the weights do not \
            fit in cache; the samples differ from --weights f32 ones (the model's probabilities move \
            by about 1e-3) but are drawn from the same model.

            Examples:
              ssm generate --seconds 1 --out x.wav
              ssm generate --seconds 1 --count 16 --keep-best 4 --out gen/ --seed 7
              ssm generate --seconds 4 --out - | aplay
              ssm generate --seconds 10 --weights f16 --out long.wav
              ssm generate --prompt data/digits/test/seven --prompt-seconds 0.15 --count 2 --out cont/
            """)

    @Option(help: "Model file (default: $SSM_AUDIO_MODEL or the shipped models/spoken-digits-sashimi.safetensors).") var model: String?
    @Option(help: "Seconds to generate per sequence (after the prompt).") var seconds: Double = 1
    @Option(help: "Sequences to generate (per prompt file with --prompt).") var count: Int = 1
    @Option(help: "Output: a .wav file, a folder, or - for standard output.") var out: String
    @Option(help: "Softmax temperature (0 = always the most likely sample).") var temperature: Float = 1
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass in (0, 1] (1 = off).") var topP: Float = 1
    @Option(help: "Seed of the sampling streams.") var seed: UInt64 = 0
    @Option(help: "Audio file or folder of audio files to continue.") var prompt: String?
    @Option(name: .customLong("prompt-seconds"), help: "Seconds of each prompt file to feed (default 1).") var promptSeconds: Double = 1
    @Option(name: .customLong("keep-best"), help: "Keep only the K sequences with the highest likelihood under the model.") var keepBest: Int?
    @Option(help: "Worker threads (default: one per core).") var threads: Int?
    @Option(help: ArgumentHelp("How the recurrent step stores its weights: f32, or f16 (half precision, half the bytes to stream per sample: faster, each weight rounded to 11 significant bits).",
                               valueName: "f32|f16")) var weights: StepWeightPrecision = .f32

    var toStdout: Bool { out == "-" }
    var toFile: Bool { out.lowercased().hasSuffix(".wav") }

    func validate() throws {
        if !(seconds > 0 && seconds <= 3600) { throw ValidationError("--seconds must be in (0, 3600] (got \(seconds))") }
        if count < 1 || count > 4096 { throw ValidationError("--count must be in 1…4096 (got \(count))") }
        if !(temperature >= 0 && temperature.isFinite) { throw ValidationError("--temperature must be 0 or more (got \(temperature))") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1] (got \(topP))") }
        if !(promptSeconds > 0 && promptSeconds <= 600) { throw ValidationError("--prompt-seconds must be in (0, 600] (got \(promptSeconds))") }
        if let keepBest, keepBest < 1 { throw ValidationError("--keep-best must be at least 1 (got \(keepBest))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if toStdout && keepBest != nil { throw ValidationError("--keep-best needs every sequence finished; it cannot stream to standard output (use --out FILE.wav)") }
    }

    func run() throws {
        let (m, _) = try loadAudioModel(model)
        let rate = m.config.sampleRate, q = m.config.quantization
        var prompts: [(name: String, classes: [Int])] = []
        if let prompt {
            let files = try AudioDataset.list(prompt)
            guard !files.isEmpty else { throw CommandError("\(prompt): no audio files") }
            for f in files {
                do {
                    let clip = try AudioDataset.clip(f, sampleRate: rate, quantizer: q)
                    let n = min(clip.classes.count, Int((promptSeconds * Double(rate)).rounded()))
                    guard n > 0 else { throw MediaError(file: f, reason: .empty) }
                    // Output names come from the prompt's file name: made unique when two folders share one.
                    var name = URL(fileURLWithPath: f).deletingPathExtension().lastPathComponent
                    if prompts.contains(where: { $0.name == name }) { name += "-\(prompts.count)" }
                    prompts.append((name, clip.classes.prefix(n).map(Int.init)))
                } catch let e as MediaError { throw CommandError("\(e)") }
            }
        }
        let sequences = max(prompts.count, 1) * count
        let kept = min(keepBest ?? sequences, sequences)
        if (toStdout || toFile) && kept != 1 {
            throw CommandError("--out \(out) takes one sequence, but \(kept) would be kept (\(sequences) generated); use --count 1, --keep-best 1 or --out DIR")
        }
        let samples = Int((seconds * Double(rate)).rounded())
        let sampling = SamplingOptions(temperature: temperature, topP: topP)
        let progress = ProgressLine(interval: 10)
        let started = Date()
        var stream: WAVStreamWriter?
        if toStdout {
            signal(SIGPIPE, SIG_DFL)   // a closed pipe ends the command quietly, as Unix tools do
            stream = try WAVStreamWriter(streamingTo: STDOUT_FILENO, sampleRate: rate)
            if let first = prompts.first { try stream!.write(first.classes.map { q.decode($0) }) }
        }
        let results = try AudioGeneration.generate(m, samples: samples, count: count, prompts: prompts, sampling: sampling, seed: seed,
                                                   threads: threads ?? Parallel.maxThreads, weights: weights, onProgress: { done, total in
            let elapsed = Date().timeIntervalSince(started)
            progress.update(String(format: "generate: %d/%d steps, %d sequence(s), %.0f samples/s, %.2fx real time",
                                   done, total, sequences, Double(done * sequences) / max(elapsed, 1e-9),
                                   Double(done) / Double(rate) / max(elapsed, 1e-9)), final: done == total)
        }, onChunk: stream.map { s in { chunk in try s.write(chunk) } })
        progress.finish()
        let elapsed = Date().timeIntervalSince(started)
        try stream?.finish()

        // Rank by likelihood per generated sample (highest first) when keeping the best.
        var chosen = results
        if keepBest != nil { chosen.sort { ($0.bitsPerSample, $0.index) < ($1.bitsPerSample, $1.index) }; chosen = Array(chosen.prefix(kept)) }
        let folder = (toStdout || toFile) ? nil : URL(fileURLWithPath: out)
        if let folder {
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            catch { throw CommandError("\(out): cannot create the folder: \(FileErrorText.describe(error))") }
        }
        var summary: [JSONLine] = []
        for (rank, r) in chosen.enumerated() {
            let path: String
            if toStdout { path = "-" }
            else if toFile { path = out }
            else {
                let stem = r.prompt.map { "\($0)-" } ?? "sample-"
                let within = r.prompt == nil ? r.index : r.index % count
                path = folder!.appendingPathComponent(String(format: "%@%03d.wav", stem, within)).path
            }
            if !toStdout {
                let writer = try WAVStreamWriter(path: path, sampleRate: rate)
                try writer.write(r.classes.map { q.decode($0) })
                try writer.finish()
            }
            var line = JSONLine()
            line.add("file", path)
            line.add("index", r.index)
            line.add("prompt", r.prompt.map { .string($0) } ?? .null)
            line.add("samples", r.classes.count)
            line.add("seconds", Double(r.classes.count) / Double(rate))
            line.add("log_likelihood", r.logLikelihood)
            line.add("bits_per_sample", r.bitsPerSample)
            line.add("mean_entropy_bits", r.meanEntropyBits)
            if keepBest != nil { line.add("rank", rank + 1) }
            summary.append(line)
            if toStdout { Stderr.line(line.text) } else { line.print() }
        }
        if let folder {
            var doc = JSONLine()
            doc.add("model_sample_rate", rate)
            doc.add("generated", sequences)
            doc.add("seconds_per_sequence", seconds)
            doc.add("temperature", Double(temperature))
            doc.add("top_p", Double(topP))
            doc.add("seed", Int(truncatingIfNeeded: seed))
            doc.add("samples_per_s", Double(samples * sequences) / elapsed)
            doc.add("sequences", .array(summary.map { .object($0) }))
            do { try AtomicFile.write(Data((doc.text + "\n").utf8), to: folder.appendingPathComponent("summary.json")) }
            catch { throw CommandError("\(out)/summary.json: cannot write: \(FileErrorText.describe(error))") }
        }
        Stderr.line(String(format: "generate: %d sequence(s) of %.2f s in %.1f s (%.0f samples/s, %.2fx real time per sequence)",
                           sequences, seconds, elapsed, Double(samples * sequences) / elapsed, Double(samples) / Double(rate) / elapsed))
    }
}
extension StepWeightPrecision: ExpressibleByArgument {}
