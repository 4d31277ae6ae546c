import XCTest
import SSMCore
import Sashimi
import TestSupport

final class AudioModelTests: XCTestCase {
    static func tinyModel(seed: UInt64 = 1) -> SashimiAudioModel {
        var c = AudioModelConfig()
        c.backbone.dModel = 8; c.backbone.nLayers = 1; c.backbone.dState = 8; c.backbone.pool = [2, 2]
        c.quantization = AudioQuantizer(kind: .mulaw, bits: 6)
        var rng = SeededRNG(seed: seed)
        return SashimiAudioModel(c, rng: &rng)
    }

    func testMuLawMatchesTheOfficialFormulas() {
        let q = AudioQuantizer()
        XCTAssertEqual(q.levels, 256)
        XCTAssertEqual(q.encode(0), 128)
        XCTAssertEqual(q.encode(1), 255)
        XCTAssertEqual(q.encode(-1), 0)
        XCTAssertEqual(q.encode(5), 255, "clipped")
        XCTAssertEqual(q.encode(.nan), 128)
        XCTAssertEqual(q.decode(128), 0, accuracy: 1e-7)
        // Official: e = sign(x) log1p(255|x|)/log1p(255); q = floor((e+1)/2 (256 − 0.01) + 0.005)
        for x in [-0.9, -0.3, -0.01, 0.002, 0.05, 0.5, 0.99] as [Double] {
            let e = (x < 0 ? -1.0 : 1.0) * Foundation.log1p(255 * abs(x)) / Foundation.log1p(255)
            let expected = Int(((e + 1) / 2 * (256 - 0.01) + 0.005).rounded(.down))
            XCTAssertEqual(q.encode(Float(x)), expected, "\(x)")
            // Decoding gives the cell's lower edge (official dequantize), within one class on re-encoding.
            XCTAssertLessThanOrEqual(abs(q.encode(q.decode(expected)) - expected), 1, "\(x)")
            XCTAssertEqual(Double(q.decode(expected)), x, accuracy: 0.05 * abs(x) + 0.001, "\(x)")
        }
        let lin = AudioQuantizer(kind: .linear, bits: 8)
        XCTAssertEqual(lin.encode(0.5), 191)
        XCTAssertEqual(lin.decode(191), 191 / 128 - 1, accuracy: 1e-6)
    }

    /// The recurrent stepper gives the convolution-mode logits, sample by sample.
    func testStepperMatchesConvolutionLogits() throws {
        let m = Self.tinyModel()
        var rng = SeededRNG(seed: 2)
        let l = 64, b = 2
        let targets = (0..<(b * l)).map { _ in Int(rng.next() % 64) }
        let x = m.teacherForcingInputs(targets, batch: b)
        let conv = try Autograd.withoutGradients { try m.logits(x, batch: b).value }     // (B·L, K)
        let stepper = AudioStepper(m, batch: b)
        var worst: Float = 0
        var input = [0, 0]
        for t in 0..<l {
            input = [x[t], x[l + t]]
            let z = input.withUnsafeBufferPointer { stepper.step($0) }
            for j in 0..<b { for k in 0..<64 { worst = max(worst, abs(z[j * 64 + k] - conv.data[(j * l + t) * 64 + k])) } }
        }
        XCTAssertLessThan(worst, 1e-4)
    }

    /// A model wide enough for the step team to split its kernels (tiers of 32, 64 and 128 features):
    /// the team changes no bit; half-precision weights stay close to the convolution-mode
    /// log-probabilities, Float ones very close.
    func testStepperTeamAndHalfWeightsAgainstConvolution() throws {
        var c = AudioModelConfig()
        c.backbone.dModel = 32; c.backbone.nLayers = 1; c.backbone.dState = 16; c.backbone.pool = [2, 2]
        var rng = SeededRNG(seed: 4)
        let m = SashimiAudioModel(c, rng: &rng)
        let l = 48, b = 2, k = m.classes
        let targets = (0..<(b * l)).map { _ in Int(rng.next() % UInt64(k)) }
        let x = m.teacherForcingInputs(targets, batch: b)
        let conv = try Autograd.withoutGradients { try m.logits(x, batch: b).value }     // (B·L, K)
        func logSoftmax(_ z: UnsafePointer<Float>) -> [Double] {
            let row = (0..<k).map { Double(z[$0]) }, top = row.max()!
            let lse = top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) })
            return row.map { $0 - lse }
        }
        func run(_ weights: StepWeightPrecision, threads: Int) -> (worst: Double, bits: [UInt32]) {
            StepTeam.with(threads: threads) {
                let stepper = AudioStepper(m, batch: b, weights: weights)
                var worst = 0.0, bits: [UInt32] = []
                for t in 0..<l {
                    let z = [x[t], x[l + t]].withUnsafeBufferPointer { stepper.step($0) }
                    for j in 0..<b {
                        let got = logSoftmax(z + j * k)
                        let want = conv.data[((j * l + t) * k)..<((j * l + t + 1) * k)].withUnsafeBufferPointer { logSoftmax($0.baseAddress!) }
                        for i in 0..<k { worst = max(worst, abs(got[i] - want[i])) }
                        bits += (0..<k).map { z[j * k + $0].bitPattern }
                    }
                }
                return (worst, bits)
            }
        }
        let f32 = run(.f32, threads: 1), f32Team = run(.f32, threads: 2), f16 = run(.f16, threads: 1), f16Team = run(.f16, threads: 2)
        XCTAssertEqual(f32.bits, f32Team.bits, "the team changes no bit (f32)")
        XCTAssertEqual(f16.bits, f16Team.bits, "the team changes no bit (f16)")
        XCTAssertLessThan(f32.worst, 1e-4)
        XCTAssertNotEqual(f16.bits, f32.bits, "half weights are in use")
        XCTAssertLessThan(f16.worst, 2e-2, "half weights: log-probabilities within 0.02 nats")
        print("stepper log-probability deviation from convolution mode: f32 \(f32.worst), f16 \(f16.worst)")
    }

    func testTeacherForcingShiftsBySilence() {
        let m = Self.tinyModel()
        XCTAssertEqual(m.teacherForcingInputs([5, 6, 7, 1, 2, 3], batch: 2), [32, 5, 6, 32, 1, 2])
    }

    func testLossGradientMatchesFiniteDifferences() throws {
        let m = Self.tinyModel()
        let targets = (0..<16).map { ($0 * 7) % 64 }
        let (loss, _) = try m.loss(targets: targets, batch: 1)
        loss.backward()
        for (name, p) in m.namedParameters where ["embedding.weight", "head.bias", "backbone.norm.weight", "backbone.d_layers.0.linear.weight"].contains(name) {
            let g = p.grad!
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 5)) {
                let old = p.value.data[i]
                p.value.data[i] = old + 1e-2
                let up = try Autograd.withoutGradients { try m.loss(targets: targets, batch: 1).loss.value.scalar }
                p.value.data[i] = old - 1e-2
                let down = try Autograd.withoutGradients { try m.loss(targets: targets, batch: 1).loss.value.scalar }
                p.value.data[i] = old
                XCTAssertEqual(g.data[i], (up - down) / 2e-2, accuracy: 2e-3, "\(name)[\(i)]")
            }
        }
    }

    func testSamplerHonoursTemperatureAndNucleus() {
        var logits: [Float] = [2, 1, 0, -1, 3, 0.5, -2, 1.5]
        let k = logits.count
        let greedy = ClassSampler(classes: k, options: SamplingOptions(temperature: 0))
        var rng = SeededRNG(seed: 1)
        let g = logits.withUnsafeBufferPointer { greedy.draw($0.baseAddress!, rng: &rng) }
        XCTAssertEqual(g.token, 4)
        // log p and entropy of the untempered distribution.
        let p = Tensor(shape: [k], data: logits).softmax().data
        XCTAssertEqual(g.logProbability, Double(Foundation.log(p[4])), accuracy: 1e-5)
        XCTAssertEqual(g.entropy, -p.reduce(0.0) { $0 + Double($1) * Foundation.log(Double($1)) }, accuracy: 1e-5)
        // top-p 0.6: the most likely classes whose preceding mass is ≤ 0.6: 4 (p ≈ 0.53), then 0 (≈ 0.20).
        let nucleus = ClassSampler(classes: k, options: SamplingOptions(temperature: 1, topP: 0.6))
        var seen = Set<Int>()
        for _ in 0..<400 { seen.insert(logits.withUnsafeBufferPointer { nucleus.draw($0.baseAddress!, rng: &rng).token }) }
        XCTAssertEqual(seen, [4, 0])
        // Full sampling follows the distribution (frequency of class 4 ≈ p[4]).
        let plain = ClassSampler(classes: k, options: SamplingOptions())
        var hits = 0
        for _ in 0..<4000 where logits.withUnsafeBufferPointer({ plain.draw($0.baseAddress!, rng: &rng).token }) == 4 { hits += 1 }
        XCTAssertEqual(Double(hits) / 4000, Double(p[4]), accuracy: 0.03)
        logits[0] = 0
    }
}
