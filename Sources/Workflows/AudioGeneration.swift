import Foundation
import Sashimi
import SSMCore

/// One generated sequence and how likely the model found it.
public struct GeneratedAudio: Sendable {
    /// Index of the sequence in the request (prompt-major: prompt `p`, continuation `r` is `p·count + r`).
    public var index: Int
    /// The prompt it continues, if any.
    public var prompt: String?
    /// Prompt classes followed by the generated ones.
    public var classes: [Int]
    /// Σ log p (nats) of the generated samples under the model (τ = 1, no nucleus).
    public var logLikelihood: Double
    /// Mean entropy of the model's next-sample distribution over the generated samples, nats.
    public var meanEntropy: Double
    public var generatedSamples: Int

    /// Negative log-likelihood of the generated part, bits per sample.
    public var bitsPerSample: Double { generatedSamples > 0 ? -logLikelihood / Foundation.log(2.0) / Double(generatedSamples) : .nan }
    public var meanEntropyBits: Double { meanEntropy / Foundation.log(2.0) }
}

/// Autoregressive generation in recurrent mode, many sequences in parallel.
///
/// Sequence `i` draws from its own generator seeded from `(seed, i)`, so its samples do not depend
/// on how many others run beside it or on how they are spread over the cores: the same seed gives
/// the same bytes. With a prompt, its classes are fed first (teacher forcing, as the official
/// `generate.py`) and only the samples after it are drawn and scored.
public enum AudioGeneration {
    /// Generates `samples` new classes for each of `prompts.count × count` sequences (one empty
    /// prompt when `prompts` is empty). `onProgress(done, total)` is called now and then with the
    /// number of steps done; `onChunk(sequence 0's new decoded samples)` lets a caller stream the
    /// first sequence while it is made (only when there is exactly one sequence). `weights`: how the
    /// step stores its affine weights (``StepWeightPrecision``; `.f16` streams half the bytes).
    public static func generate(_ model: SashimiAudioModel, samples: Int, count: Int, prompts: [(name: String, classes: [Int])] = [],
                                sampling: SamplingOptions, seed: UInt64, threads: Int = Parallel.maxThreads,
                                weights: StepWeightPrecision = .f32,
                                onProgress: ((Int, Int) -> Void)? = nil,
                                onChunk: (([Float]) throws -> Void)? = nil) throws -> [GeneratedAudio] {
        let promptList = prompts.isEmpty ? [(name: "", classes: [Int]())] : prompts
        var jobs: [(prompt: String?, classes: [Int])] = []
        for p in promptList { for _ in 0..<count { jobs.append((prompts.isEmpty ? nil : p.name, p.classes)) } }
        let n = jobs.count
        guard n > 0 else { return [] }
        precondition(onChunk == nil || n == 1, "streaming needs exactly one sequence")
        let maxPrompt = jobs.map { $0.classes.count }.max() ?? 0
        // Fewer sequences than cores: one group, its kernels split over the cores by the step team
        // when that is faster (see StepTeamChooser). Otherwise one group per core, each on one
        // thread (splitting each kernel as well would cost more in synchronisation than it saves).
        let groups = max(1, min(threads, n))
        let teamThreads = n < threads ? threads : 1
        var results = [GeneratedAudio?](repeating: nil, count: n)
        let lock = NSLock()
        var failure: Error?
        var progressSteps = [Int](repeating: 0, count: groups)
        let totalSteps = maxPrompt + samples
        // Each group of sequences runs its own stepper on one core, independently.
        StepTeam.with(threads: teamThreads) {
        DispatchQueue.concurrentPerform(iterations: groups) { g in
            let members = Array(stride(from: g, to: n, by: groups))
            let b = members.count
            let stepper = AudioStepper(model, batch: b, weights: weights)
            let sampler = ClassSampler(classes: model.classes, options: sampling)
            var rngs = members.map { SeededRNG(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64($0 + 1)) }
            var seqs = members.map { jobs[$0].classes }
            let promptLengths = members.map { jobs[$0].classes.count }
            var logp = [Double](repeating: 0, count: b), entropy = [Double](repeating: 0, count: b)
            var input = [Int](repeating: model.config.quantization.zero, count: b)   // silence first, as in training
            var chunk: [Float] = []
            for s in 0..<seqs.count { seqs[s].reserveCapacity(promptLengths[s] + samples) }
            // Step t feeds sample t−1 (silence at t = 0) and gives the distribution of sample t: the
            // prompt's samples are fed as they are (teacher forcing), the others drawn.
            var chooser = StepTeamChooser(threads: teamThreads)
            for t in 0..<totalSteps {
                chooser.willStep(t)
                let logits = input.withUnsafeBufferPointer { stepper.step($0) }
                for j in 0..<b where seqs[j].count < promptLengths[j] + samples {
                    if t < promptLengths[j] {
                        input[j] = seqs[j][t]
                        continue
                    }
                    let d = sampler.draw(logits + j * model.classes, rng: &rngs[j])
                    logp[j] += d.logProbability
                    entropy[j] += d.entropy
                    seqs[j].append(d.token)
                    input[j] = d.token
                    if onChunk != nil { chunk.append(model.config.quantization.decode(d.token)) }
                }
                if let onChunk, chunk.count >= 512 || t == totalSteps - 1 {
                    do { try onChunk(chunk) } catch { lock.lock(); failure = error; lock.unlock(); return }
                    chunk.removeAll(keepingCapacity: true)
                }
                if t % 256 == 255 || t == totalSteps - 1 {
                    lock.lock(); progressSteps[g] = t + 1; let done = progressSteps.min()!; let stop = failure != nil; lock.unlock()
                    if stop { return }
                    if g == 0 { onProgress?(done, totalSteps) }
                }
            }
            lock.lock()
            for (j, i) in members.enumerated() {
                let generated = seqs[j].count - promptLengths[j]
                results[i] = GeneratedAudio(index: i, prompt: jobs[i].prompt, classes: seqs[j], logLikelihood: logp[j],
                                            meanEntropy: generated > 0 ? entropy[j] / Double(generated) : .nan,
                                            generatedSamples: generated)
            }
            lock.unlock()
        }
        }
        if let failure { throw failure }
        return results.map { $0! }
    }
}

/// Whether one generation group should split its step kernels over the cores. The gain depends on
/// how busy the machine's cores are (a fork–join every few microseconds suffers when another
/// process or the hypervisor takes a core), so it is measured: every `period` steps, `trial`
/// steps on one thread, then `trial` with the team, and the faster setting is kept until the next
/// trial. The outputs are the same either way (the team changes no bit).
struct StepTeamChooser {
    let threads: Int
    let period = 8192, trial = 256
    var started: UInt64 = 0
    var serial: UInt64 = 0

    init(threads: Int) { self.threads = threads }

    mutating func willStep(_ t: Int) {
        guard threads > 1 else { return }
        let phase = t % period
        if phase == 0 {
            StepTeam.set(threads: 1)
            started = DispatchTime.now().uptimeNanoseconds
        } else if phase == trial {
            let now = DispatchTime.now().uptimeNanoseconds
            serial = now - started; started = now
            StepTeam.set(threads: threads)
        } else if phase == 2 * trial {
            let team = DispatchTime.now().uptimeNanoseconds - started
            StepTeam.set(threads: team < serial ? threads : 1)
        }
    }
}
