import Foundation
import S4ND
import SSMCore

/// W1 of PERFORMANCE.md: the isotropic S4ND classifier on (32, 1, 28, 28), H = 64 and 128:
/// inference at 28, 14 and 56 pixels, and a full AdamW training step at 28.
func s4ndSuite() throws {
    for dModel in [64, 128] {
        try w1Inference(dModel: dModel, sizes: [28, 14, 56])
        try w1Training(dModel: dModel)
    }
}

/// Only the H = 64 training step (for profiling).
func s4ndTrainSuite() throws { try w1Training(dModel: 64) }

func w1Model(dModel: Int, kernel: String = "s4d", rng: inout SeededRNG) throws -> ImageClassifier {
    var config = ImageClassifierConfig()
    config.dModel = dModel
    config.dtMin = 0.1; config.dtMax = 1.0; config.bandlimit = 0.2   // W1 exactly
    if kernel != "s4d" {
        var k = config.kernelOptions
        k.kernel = kernel; k.initialization = nil
        if !(try KernelRegistry.entry(kernel)).supportsBandlimit { k.bandlimit = nil }
        config.kernelOptions = k
    }
    return try ImageClassifier(config, rng: &rng)
}

/// Runs `body` for at least `seconds` (and 3 times), after one warm-up call; returns calls per second.
func timeLoop(seconds: Double, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var iters = 0
    let t0 = Date()
    while Date().timeIntervalSince(t0) < seconds || iters < 3 { try body(); iters += 1 }
    return Double(iters) / Date().timeIntervalSince(t0)
}

func w1Inference(dModel: Int, sizes: [Int]) throws {
    var rng = SeededRNG(seed: 1)
    let model = try w1Model(dModel: dModel, rng: &rng)
    let params = model.parameters.reduce(0) { $0 + $1.value.count }
    let batch = 32
    for size in sizes {
        let x = Tensor(shape: [batch, 1, size, size], data: (0..<(batch * size * size)).map { _ in rng.uniform() })
        let rate = timeLoop(seconds: 2) { _ = Autograd.withoutGradients { model(x) } }
        emitJSON([("suite", "s4nd"), ("case", "w1_inference"), ("d_model", dModel), ("params", params), ("size", size),
                  ("batch", batch), ("images_per_s", rate * Double(batch))])
    }
}

func w1Training(dModel: Int) throws {
    var rng = SeededRNG(seed: 1)
    let model = try w1Model(dModel: dModel, rng: &rng)
    let params = model.parameters.reduce(0) { $0 + $1.value.count }
    let batch = 32
    let x = Tensor(shape: [batch, 1, 28, 28], data: (0..<(batch * 784)).map { _ in rng.uniform() })
    let rate = try trainingStepsPerSecond(model, images: x, rng: &rng)
    emitJSON([("suite", "s4nd"), ("case", "w1_training_adamw"), ("d_model", dModel), ("params", params), ("size", 28),
              ("batch", batch), ("images_per_s", rate * Double(batch))])
}


/// Only H = 64 inference at 28×28 (for profiling).
func s4ndInferSuite() throws { try w1Inference(dModel: 64, sizes: [28]) }

/// AdamW training steps per second of `model` on `images` (labels `i mod 10`), at least 3 s.
func trainingStepsPerSecond(_ model: ImageClassifier, images x: Tensor, rng: inout SeededRNG) throws -> Double {
    let labels = (0..<x.shape[0]).map { $0 % 10 }
    let optimiser = try AdamW(groups: [ParameterGroup(model.namedParameters, learningRate: 1e-3, weightDecay: 0.05)])
    return try timeLoop(seconds: 3) {
        let logits = withUnsafeMutablePointer(to: &rng) { model(x, training: true, rng: $0) }
        let (loss, _) = try softmaxCrossEntropy(logits: logits, labels: labels)
        loss.backward()
        optimiser.step()
        optimiser.zeroGrad()
    }
}
