import Foundation
import Sashimi
import SSMCore
import Workflows

/// W2 of PERFORMANCE.md: the paper's SaShiMi (embedding 256 → 64, d_model 64, n_layers 8,
/// pool [4, 4], expand 2, ff 2, S4D layers with d_state 64, GLU output linear, head 64 → 256):
/// an AdamW training step on 1 × 16,384 samples, and recurrent generation at batch 1 and 16.
/// `SSM_BENCH_SASHIMI` = comma-separated cases (train, steps, generate) to run only those.
func sashimiSuite() throws {
    let wanted = ProcessInfo.processInfo.environment["SSM_BENCH_SASHIMI"].map { Set($0.split(separator: ",").map(String.init)) }
    func wants(_ c: String) -> Bool { wanted?.contains(c) ?? true }
    // `SSM_BENCH_SASHIMI_BATCH`, `_THREADS`, `_WEIGHTS`: one generation batch size / thread count /
    // weight precision to time (default: batch 1 and 16, threads 1 and all, f32 and f16).
    let env = ProcessInfo.processInfo.environment
    let batches = env["SSM_BENCH_SASHIMI_BATCH"].flatMap { Int($0) }.map { [$0] } ?? [1, 16]
    let threadCounts = env["SSM_BENCH_SASHIMI_THREADS"].flatMap { Int($0) }.map { [$0] } ?? Set([1, Parallel.maxThreads]).sorted()
    let precisions = env["SSM_BENCH_SASHIMI_WEIGHTS"].flatMap { StepWeightPrecision(rawValue: $0) }.map { [$0] } ?? StepWeightPrecision.allCases
    var config = AudioModelConfig()
    config.backbone.nSSM = nil           // one (A, B) per feature, the official standalone default
    config.sampleRate = 16000
    var rng = SeededRNG(seed: 1)
    let model = SashimiAudioModel(config, rng: &rng)
    let params = model.parameters.reduce(0) { $0 + $1.value.count }

    if wants("train") {
        let optimizer = try AdamW(groups: ParameterGroup.byRole(model.namedParameters, learningRate: 0.004,
                                                                ssmLearningRate: 0.001, weightDecay: 0.01))
        let targets = (0..<16384).map { _ in Int(rng.next() % 256) }
        let rate = try timeLoop(seconds: 10) {
            let (loss, _) = try model.loss(targets: targets, batch: 1)
            loss.backward()
            optimizer.step()
            optimizer.zeroGrad()
        }
        emitJSON([("suite", "sashimi"), ("case", "w2_training_adamw"), ("params", params), ("batch", 1), ("length", 16384),
                  ("steps_per_s", rate), ("samples_per_s", rate * 16384)])
    }
    if wants("steps") {
        for batch in batches {
            for threads in threadCounts { for weights in precisions {
                let stepper = AudioStepper(model, batch: batch, weights: weights)
                let input = [Int](repeating: 128, count: batch)
                let steps = batch == 1 ? 16384 : 4096
                let rate = StepTeam.with(threads: threads) {
                    timeLoop(seconds: 5) { input.withUnsafeBufferPointer { p in for _ in 0..<steps { stepper.step(p) } } }
                }
                emitJSON([("suite", "sashimi"), ("case", "w2_generation_steps"), ("params", params), ("batch", batch), ("threads", threads),
                          ("weights", weights.rawValue), ("samples_per_s", rate * Double(steps * batch)),
                          ("real_time_16k", rate * Double(steps) / 16000)])
            }}
        }
    }
    if wants("generate") {
        // The generation workflow (sampling included), over the cores: one sequence splits each
        // step's kernels over the cores when that measures faster, 16 run as one group per core.
        for count in [1, 16] { for weights in precisions {
            let samples = count == 1 ? 16384 : 4096
            let rate = try timeLoop(seconds: 5) {
                _ = try AudioGeneration.generate(model, samples: samples, count: count, sampling: SamplingOptions(), seed: 1, weights: weights)
            }
            emitJSON([("suite", "sashimi"), ("case", "w2_generate"), ("params", params), ("count", count), ("threads", Parallel.maxThreads),
                      ("weights", weights.rawValue), ("samples_per_s", rate * Double(samples * count)),
                      ("real_time_16k_per_sequence", rate * Double(samples) / 16000)])
        }}
    }
}
