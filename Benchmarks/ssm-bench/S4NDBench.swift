import Foundation
import S4ND
import SSMCore

/// W1 of PERFORMANCE.md: the isotropic S4ND classifier on (32, 1, 28, 28), H = 64 (and 128).
func s4ndSuite() throws {
    for dModel in [64, 128] {
        var config = ImageClassifierConfig()
        config.dModel = dModel
        var rng = SeededRNG(seed: 1)
        let model = ImageClassifier(config, rng: &rng)
        let params = model.parameters.reduce(0) { $0 + $1.value.count }
        for size in [28, 14, 56] {
            let batch = 32
            let x = Tensor(shape: [batch, 1, size, size], data: (0..<(batch * size * size)).map { _ in rng.uniform() })
            // Warm-up, then time enough iterations for ~2 s.
            _ = Autograd.withoutGradients { model(x) }
            var iters = 0
            let t0 = Date()
            while Date().timeIntervalSince(t0) < 2 || iters < 3 {
                _ = Autograd.withoutGradients { model(x) }
                iters += 1
            }
            let dt = Date().timeIntervalSince(t0)
            emit(["suite": "s4nd", "case": "w1_inference", "d_model": dModel, "params": params, "size": size, "batch": batch,
                  "images_per_s": Double(iters * batch) / dt])
        }
        // Training step (forward + backward + AdamW) at 28×28.
        let batch = 32
        let x = Tensor(shape: [batch, 1, 28, 28], data: (0..<(batch * 784)).map { _ in rng.uniform() })
        let labels = (0..<batch).map { $0 % 10 }
        func step() throws {
            let logits = model(x, training: true)
            _ = labels
            logits.mean().backward()
            for p in model.parameters { p.zeroGrad() }
        }
        try step()
        var iters = 0
        let t0 = Date()
        while Date().timeIntervalSince(t0) < 3 || iters < 3 { try step(); iters += 1 }
        let dt = Date().timeIntervalSince(t0)
        emit(["suite": "s4nd", "case": "w1_forward_backward", "d_model": dModel, "params": params, "size": 28, "batch": batch,
              "images_per_s": Double(iters * batch) / dt])
    }
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
