import XCTest
import S4ND
import SSMCore
import TestSupport

/// The classifier on 3 axes (video clips) against a slow reference written with plain loops over
/// samples and positions, in a layout of its own, for the S4ND layer and a 1-D block per axis.
final class VideoClassifierTests: XCTestCase {
    func config(block: String?, trainSize: [Int]) -> ImageClassifierConfig {
        var c = ImageClassifierConfig()
        c.inputChannels = 3; c.classes = 4; c.dModel = 4; c.layers = 2; c.dState = 4
        c.trainSize = trainSize; c.dropout = 0; c.finalNorm = true; c.block = block
        return c
    }

    /// Logits of one sample `x` `(C, L₁, …, Lₙ)`, computed position by position.
    func reference(_ model: ImageClassifier, _ x: [Float], grid: [Int]) -> [Float] {
        let H = model.config.dModel, Cin = model.config.inputChannels
        let P = grid.reduce(1, *)
        let ew = model.encoder.weight.value.data, eb = model.encoder.bias!.value.data
        var h = [Float](repeating: 0, count: H * P)      // (H, P)
        for o in 0..<H { for p in 0..<P {
            var s = eb[o]
            for i in 0..<Cin { s += ew[o * Cin + i] * x[i * P + p] }
            h[o * P + p] = s
        } }
        func norm(_ v: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var out = v
            for p in 0..<P {
                var mean: Float = 0, sq: Float = 0
                for o in 0..<H { mean += v[o * P + p] }
                mean /= Float(H)
                for o in 0..<H { sq += (v[o * P + p] - mean) * (v[o * P + p] - mean) }
                let inv = 1 / (sq / Float(H) + 1e-5).squareRoot()
                for o in 0..<H { out[o * P + p] = (v[o * P + p] - mean) * inv * w[o] + b[o] }
            }
            return out
        }
        let rates = model.rates(for: grid)
        for block in model.blocks {
            let z = norm(h, block.norm.weight.value.data, block.norm.bias.value.data)
            var y: [Float]
            if let s4nd = block.s4nd {
                // The layer's own channel-first entry point on (H, 1, L₁, …, Lₙ): batch first, not interleaved.
                let u = Variable(Tensor(shape: [H, 1] + grid, data: z))
                y = Autograd.withoutGradients { s4nd.forward(channelsFirst: u, spatialAxes: Array(2..<(grid.count + 2)), rates: rates).value.data }
            } else {
                // One line at a time along each axis in turn.
                y = z
                for (a, layer) in block.axes.enumerated() {
                    let L = grid[a]
                    let inner = grid[(a + 1)...].reduce(1, *)
                    var next = y
                    for p in 0..<P where (p / inner) % L == 0 {
                        var line = [Float](repeating: 0, count: H * L)
                        for o in 0..<H { for t in 0..<L { line[o * L + t] = y[o * P + p + t * inner] } }
                        let out = Autograd.withoutGradients { layer.forward(Variable(Tensor(shape: [1, H, L], data: line)), rate: rates[a]).value.data }
                        for o in 0..<H { for t in 0..<L { next[o * P + p + t * inner] = out[o * L + t] } }
                    }
                    y = next
                }
            }
            for i in 0..<h.count { h[i] += y[i] }
        }
        if let n = model.finalNorm { h = norm(h, n.weight.value.data, n.bias.value.data) }
        let K = model.config.classes
        let dw = model.decoder.weight.value.data, db = model.decoder.bias!.value.data
        return (0..<K).map { k in
            var s = db[k]
            for o in 0..<H { s += dw[k * H + o] * h[o * P..<(o + 1) * P].reduce(0, +) / Float(P) }
            return s
        }
    }

    func check(block: String?, trainSize: [Int], input: [Int], tolerance: Float) throws {
        var rng = SeededRNG(seed: 21)
        let model = try ImageClassifier(config(block: block, trainSize: trainSize), rng: &rng)
        let B = 2
        let x = TestSupport.randomTensor([B, 3] + input, rng: &rng)
        let logits = Autograd.withoutGradients { model(x).value }
        XCTAssertEqual(logits.shape, [B, 4])
        let per = x.count / B
        for b in 0..<B {
            let expected = reference(model, Array(x.data[(b * per)..<((b + 1) * per)]), grid: input)
            let got = Array(logits.data[(b * 4)..<((b + 1) * 4)])
            XCTAssertLessThan(maxAbsDifference(got, expected).value, tolerance, "block \(block ?? "s4"), input \(input), sample \(b): \(got) vs \(expected)")
        }
    }

    func testS4NDVideoMatchesReferenceAtTrainingAndOtherSizes() throws {
        try check(block: nil, trainSize: [4, 5, 6], input: [4, 5, 6], tolerance: 2e-5)
        try check(block: nil, trainSize: [4, 5, 6], input: [8, 3, 7], tolerance: 2e-5)
    }

    func testPerAxisBlocksOnVideoMatchReference() throws {
        try check(block: "s5", trainSize: [4, 5, 6], input: [4, 5, 6], tolerance: 2e-5)
        try check(block: "gss", trainSize: [4, 5, 6], input: [6, 5, 3], tolerance: 2e-5)
    }

    func testImageModelStillMatchesReference() throws {
        try check(block: nil, trainSize: [6, 7], input: [6, 7], tolerance: 2e-5)
        try check(block: "s5", trainSize: [6, 7], input: [9, 4], tolerance: 2e-5)
    }

    func testRatesArePerAxis() throws {
        var rng = SeededRNG(seed: 1)
        let model = try ImageClassifier(config(block: nil, trainSize: [16, 32, 32]), rng: &rng)
        XCTAssertEqual(model.rates(for: [32, 32, 64]), [0.5, 1, 0.5])
        XCTAssertEqual(model.axes, 3)
    }

    func testConfigurationProblemsNameTheField() {
        var c = config(block: nil, trainSize: [4, 5, 6])
        XCTAssertEqual(c.problems, [])
        c.trainSize = [4, 5, 6, 7]; c.inputChannels = 1000; c.classNames = ["a", "", "c", "d"]; c.dtMin = 0
        let p = c.problems.joined(separator: "; ")
        XCTAssertTrue(p.contains("train_size must have 2 (image) or 3 (video) entries, got 4"), p)
        XCTAssertTrue(p.contains("input_channels = 1000 is out of range (1 or 3)"), p)
        XCTAssertTrue(p.contains("class_names has an empty name"), p)
        XCTAssertTrue(p.contains("dt_min must be > 0"), p)
        // An unknown init or block, and an unbounded kernel_dim, are named too (not swapped for defaults).
        var d = config(block: nil, trainSize: [4, 5, 6])
        d.block = "lstm"; d.kernelDim = 1 << 40
        XCTAssertEqual(d.problems, ["block = lstm: valid: s4, s5, mamba, gss", "kernel_dim must be in 1…4096, got 1099511627776"])
        var e = config(block: nil, trainSize: [4, 5, 6])
        e.initialisation = "bogus"
        XCTAssertEqual(e.problems.count, 1)
        XCTAssertTrue(e.problems[0].contains("init") && e.problems[0].contains("bogus"), "\(e.problems)")
        e.initialisation = "diag-inv"; e.kernel = "conv"
        XCTAssertEqual(e.problems, ["init = diag-inv: conv takes normal"], "a kernel's own options are checked too")
    }
}
