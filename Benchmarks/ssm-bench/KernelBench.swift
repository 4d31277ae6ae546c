import Foundation
import S4ND
import SSMCore

/// Every registry kernel: the W1 S4ND classifier (H = 64, batch 32, 28×28) forward and AdamW
/// training step, and kernel generation alone — DPLR next to S4D at H = 256, N = 64, L = 16,384
/// (forward and the backward pass through the kernel).
func kernelsSuite() throws {
    for name in KernelRegistry.names {
        try w1KernelCase(kernel: name)
    }
    for name in ["s4d", "dplr"] { try kernelGeneration(kernel: name, features: 256, stateSize: 64, length: 16_384) }
}

func w1KernelCase(kernel: String) throws {
    var rng = SeededRNG(seed: 1)
    let model = try w1Model(dModel: 64, kernel: kernel, rng: &rng)
    let params = model.parameters.reduce(0) { $0 + $1.value.count }
    let batch = 32
    let x = Tensor(shape: [batch, 1, 28, 28], data: (0..<(batch * 784)).map { _ in rng.uniform() })
    let forward = timeLoop(seconds: 2) { _ = Autograd.withoutGradients { model(x) } }
    let training = try trainingStepsPerSecond(model, images: x, rng: &rng)
    emitJSON([("suite", "kernels"), ("case", "w1_s4nd"), ("kernel", kernel), ("d_model", 64), ("params", params),
              ("batch", batch), ("forward_images_per_s", forward * Double(batch)), ("training_images_per_s", training * Double(batch))])
}

func kernelGeneration(kernel: String, features: Int, stateSize: Int, length: Int) throws {
    var rng = SeededRNG(seed: 2)
    let k = try KernelRegistry.build(KernelOptions(kernel: kernel, stateSize: stateSize),
                                     shape: KernelShape(features: features, channels: 1, maxLength: length), rng: &rng)
    let forward = timeLoop(seconds: 3) { _ = Autograd.withoutGradients { k.kernel(length: length, rate: 1) } }
    let g = Tensor(repeating: 1e-3, shape: [1, features, length])
    let backward = timeLoop(seconds: 3) {
        let out = k.kernel(length: length, rate: 1)
        out.backward(g)
        for (_, p) in k.namedParameters { p.zeroGrad() }
    }
    emitJSON([("suite", "kernels"), ("case", "kernel_generation"), ("kernel", kernel), ("H", features), ("N", stateSize),
              ("L", length), ("forward_ms", 1000 / forward), ("forward_backward_ms", 1000 / backward)])
}

/// Issue W-blocks: Mamba's selective scan (forward, forward + backward, and the recurrent step)
/// and S5's scan at d_model 256, d_state 16, L 4,096, batch 8, next to the S4 block's FFT
/// convolution (S4D kernel) at the same size.
func blocksSuite() throws {
    let (h, n, L, batch) = (256, 16, 4096, 8)
    var rng = SeededRNG(seed: 3)
    let x = Tensor(shape: [batch, h, L], data: (0..<(batch * h * L)).map { _ in rng.normal() })
    let g = Tensor(repeating: 1e-3, shape: [batch, h, L])
    let layers: [(String, any SequenceLayer)] = [
        ("s4_fftconv", S4Block(kernel: S4DKernelConfiguration(features: h, stateSize: 2 * n), rng: &rng)),
        ("s5_scan", S5Layer(features: h, modes: n, rng: &rng)),
        ("mamba", MambaBlock(features: h, stateSize: n, rng: &rng)),
    ]
    for (name, layer) in layers {
        let forward = timeLoop(seconds: 3) { _ = Autograd.withoutGradients { layer.forward(Variable(x), rate: 1) } }
        let training = timeLoop(seconds: 3) {
            let y = layer.forward(Variable(x), rate: 1)
            y.backward(g)
            for (_, p) in layer.namedParameters { p.zeroGrad() }
        }
        // Recurrent step, batch 8, one token at a time.
        let state = layer.defaultState(batch: batch)
        var input = [Float](repeating: 0.1, count: batch * h), output = [Float](repeating: 0, count: batch * h)
        let steps = 256
        let stepRate = timeLoop(seconds: 2) {
            input.withUnsafeBufferPointer { ib in output.withUnsafeMutableBufferPointer { ob in
                for _ in 0..<steps { _ = layer.step(ib.baseAddress!, into: ob.baseAddress!, state: state) }
            }}
        }
        emitJSON([("suite", "blocks"), ("case", name), ("d_model", h), ("d_state", n), ("L", L), ("batch", batch),
                  ("forward_ms", 1000 / forward), ("forward_backward_ms", 1000 / training),
                  ("step_tokens_per_s", stepRate * Double(steps * batch))])
    }
}
