import ArgumentParser
import Foundation
import Sashimi
import SSMCore
import Workflows

/// `ssm check-recurrence`: how far recurrent (step) mode is from convolution mode for a model.
struct CheckRecurrence: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-recurrence",
        abstract: "Compare a SaShiMi model's convolution and recurrent (step) modes, layer by layer.",
        discussion: """
            Runs --length samples through the model twice — in convolution mode (training, scoring) \
            and one step at a time (generation) — and prints the largest absolute difference of \
            every residual layer's output (given the same convolution-mode input) and of the final \
            logits, one JSON line each, then a summary line. Both modes use the same parameters; \
            the differences are float round-off and grow with depth and length. The input is an \
            audio file (--input, quantised as in training) or, by default, random classes.

            Examples:
              ssm check-recurrence --length 4096
              ssm check-recurrence --model runs/digits/model.safetensors --input a.wav --length 16384
            """)

    @Option(help: "Model file (default: $SSM_AUDIO_MODEL or the shipped model).") var model: String?
    @Option(help: "Samples to run (rounded up to the pooling product).") var length: Int = 4096
    @Option(help: "Audio file to run (default: random classes).") var input: String?
    @Option(help: "Seed of the random input.") var seed: UInt64 = 0

    func validate() throws {
        if length < 1 || length > 1 << 20 { throw ValidationError("--length must be in 1…1048576 (got \(length))") }
    }

    func run() throws {
        let (m, path) = try loadAudioModel(model)
        let multiple = m.lengthMultiple
        let l = (length + multiple - 1) / multiple * multiple
        var classes: [Int]
        if let input {
            let clip: AudioClip
            do { clip = try AudioDataset.clip(input, sampleRate: m.config.sampleRate, quantizer: m.config.quantization) }
            catch { throw CommandError("\(error)") }
            classes = clip.classes.prefix(l).map(Int.init)
            classes += [Int](repeating: m.config.quantization.zero, count: l - classes.count)
        } else {
            var rng = SeededRNG(seed: seed)
            classes = (0..<l).map { _ in Int(rng.next() % UInt64(m.classes)) }
        }
        let x = m.teacherForcingInputs(classes, batch: 1)
        // Convolution mode, recording each layer's input.
        var layerInputs: [(String, any SequenceLayer, Tensor)] = []
        let convLogits = try Autograd.withoutGradients { () throws -> Tensor in
            let e = try m.embedding(x, shape: [1, l]).permuted([0, 2, 1])
            let y = m.backbone.forward(e, rate: 1) { key, layer, v in layerInputs.append((key, layer, v.value)) }
            return m.head(y.permuted([0, 2, 1]).reshaped([l, m.config.backbone.dModel])).value
        }
        var worstLayer = 0.0
        for (key, layer, v) in layerInputs where layer is ResidualBlock {
            let conv = Autograd.withoutGradients { layer.forward(Variable(v), rate: 1).value }
            let step = layer.stepThrough(v)
            let d = maxDifference(conv.data, step.data)
            worstLayer = max(worstLayer, d)
            var line = JSONLine()
            line.add("layer", key)
            line.add("kind", (layer as! ResidualBlock).layer is FFBlock ? "ff" : "s4")
            line.add("length", v.shape[2])
            line.add("max_abs_diff", d)
            line.add("max_abs_value", Double(conv.data.map { abs($0) }.max() ?? 0))
            line.print()
        }
        // Recurrent mode of the whole model.
        let stepper = AudioStepper(m, batch: 1)
        var stepLogits = [Float](repeating: 0, count: l * m.classes)
        var token = [0]
        for t in 0..<l {
            token[0] = x[t]
            let z = token.withUnsafeBufferPointer { stepper.step($0) }
            for k in 0..<m.classes { stepLogits[t * m.classes + k] = z[k] }
        }
        let d = maxDifference(convLogits.data, stepLogits)
        var agree = 0
        for t in 0..<l {
            let a = argmax(convLogits.data, t * m.classes, m.classes), b = argmax(stepLogits, t * m.classes, m.classes)
            if a == b { agree += 1 }
        }
        var line = JSONLine()
        line.add("layer", "logits")
        line.add("length", l)
        line.add("max_abs_diff", d)
        line.add("max_abs_value", Double(convLogits.data.map { abs($0) }.max() ?? 0))
        line.add("argmax_agreement", Double(agree) / Double(l))
        line.print()
        var s = JSONLine()
        s.add("model", path)
        s.add("length", l)
        s.add("max_layer_abs_diff", worstLayer)
        s.add("logits_max_abs_diff", d)
        s.print()
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Double {
        var m: Float = 0
        for i in 0..<min(a.count, b.count) { let d = abs(a[i] - b[i]); if d > m || d.isNaN { m = d.isNaN ? .infinity : d } }
        return Double(m)
    }

    func argmax(_ v: [Float], _ start: Int, _ n: Int) -> Int {
        var best = 0
        for k in 1..<n where v[start + k] > v[start + best] { best = k }
        return best
    }
}
