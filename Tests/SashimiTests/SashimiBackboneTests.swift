import XCTest
import SSMCore
import Sashimi
import TestSupport

final class SashimiBackboneTests: XCTestCase {
    func smallConfig(nLayers: Int = 2, pool: [Int] = [4, 4]) -> SashimiConfig {
        var c = SashimiConfig()
        c.dModel = 8; c.nLayers = nLayers; c.pool = pool; c.dState = 16; c.nSSM = nil
        return c
    }

    /// Random weights large enough that every path (pools, skips, FF) matters.
    func randomise(_ m: Layer, seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        // Kernels and SSM parameters keep their (stable) initialisation.
        for (name, p) in m.namedParameters where !name.contains("kernel.") && p.role != .ssm {
            p.value = TestSupport.randomTensor(p.shape, scale: name.hasSuffix("norm.weight") ? 1 : 0.5, rng: &rng)
        }
    }

    func testConvolutionAndStepModesAgreeOver4096Steps() {
        var rng = SeededRNG(seed: 3)
        let m = Sashimi(smallConfig(), rng: &rng)
        randomise(m, seed: 4)
        let x = TestSupport.randomTensor([2, 8, 4096], rng: &rng)
        let conv = Autograd.withoutGradients { m.forward(Variable(x)).value }
        let step = m.stepThrough(x)
        let (d, at) = maxAbsDifference(conv.data, step.data)
        print("sashimi conv-vs-step L=4096 max_abs_diff=\(d) at \(at)")
        XCTAssertLessThan(d, 1e-4)
    }

    /// Every registry kernel in SaShiMi's S4 blocks: convolution ≡ step over the training
    /// length (per-tier kernel lengths for the fixed-length kernels).
    func testEveryRegistryKernelStepsLikeItsConvolution() throws {
        for name in KernelRegistry.names {
            var rng = SeededRNG(seed: 13)
            var c = smallConfig(nLayers: 1)
            c.lMax = 64
            c.setKernel(KernelOptions(kernel: name, stateSize: 8, kernelDim: 4))
            XCTAssertEqual(c.problems, [], name)
            let m = Sashimi(c, rng: &rng)
            randomise(m, seed: 14)
            XCTAssertEqual(m.namedKernels.count, 3, name)
            let x = TestSupport.randomTensor([2, 8, 64], rng: &rng)
            let conv = Autograd.withoutGradients { m.forward(Variable(x)).value }
            assertClose(m.stepThrough(x), conv, atol: 2e-4, name)
        }
    }

    /// SaShiMi with S5, Mamba and gated blocks: convolution (scan) ≡ step.
    func testEveryBlockStepsLikeItsForward() throws {
        for kind in BlockKind.allCases {
            var rng = SeededRNG(seed: 17)
            var c = smallConfig(nLayers: 1)
            c.block = kind.rawValue
            XCTAssertEqual(c.problems, [], kind.rawValue)
            let m = Sashimi(c, rng: &rng)
            randomise(m, seed: 18)
            let x = TestSupport.randomTensor([2, 8, 96], rng: &rng)
            let conv = Autograd.withoutGradients { m.forward(Variable(x)).value }
            assertClose(m.stepThrough(x), conv, atol: 2e-4, kind.rawValue)
        }
        var c = smallConfig(nLayers: 1); c.smr = 3; c.block = "s5"
        var rng = SeededRNG(seed: 19)
        let m = Sashimi(c, rng: &rng)
        XCTAssertTrue(m.namedParameters.contains { $0.0 == "c_layers.0.layer.smr.weight" })
        let x = TestSupport.randomTensor([1, 8, 48], rng: &rng)
        assertClose(m.stepThrough(x), Autograd.withoutGradients { m.forward(Variable(x)).value }, atol: 2e-4, "smr")
        var bad = smallConfig(); bad.block = "rnn"
        XCTAssertEqual(bad.problems, ["block must be one of s4, s5, mamba, gss, got rnn"])
    }

    func testFixedLengthKernelsNeedTheTrainingLength() {
        var c = smallConfig()
        c.setKernel(KernelOptions(kernel: "dplr", stateSize: 8))
        XCTAssertEqual(c.problems, ["kernel dplr needs l_max (the training length)"])
        c.setKernel(KernelOptions(kernel: "ema", stateSize: 8, initialization: "legs"))
        XCTAssertEqual(c.problems, ["kernel options: init = legs: ema takes mega"])
    }

    func testStepModeWithThreeTiersAndNoFeedForward() {
        var rng = SeededRNG(seed: 5)
        var c = smallConfig(nLayers: 1, pool: [2, 3, 2]); c.ff = 0
        let m = Sashimi(c, rng: &rng)
        randomise(m, seed: 6)
        let x = TestSupport.randomTensor([3, 8, 12 * 20], rng: &rng)
        let conv = Autograd.withoutGradients { m.forward(Variable(x)).value }
        assertClose(m.stepThrough(x), conv, atol: 1e-4)
    }

    /// Output t depends on inputs 0…t only (the UpPool shift).
    func testCausality() {
        var rng = SeededRNG(seed: 7)
        let m = Sashimi(smallConfig(), rng: &rng)
        randomise(m, seed: 8)
        var x = TestSupport.randomTensor([1, 8, 64], rng: &rng)
        let y0 = Autograd.withoutGradients { m.forward(Variable(x)).value }
        let t = 37
        x.data[t] += 1                                  // one feature (a shift of all would vanish in the final LayerNorm)
        let y1 = Autograd.withoutGradients { m.forward(Variable(x)).value }
        for h in 0..<8 {
            // FFT round-off only (≈1e-7) before t.
            for l in 0..<t { XCTAssertEqual(y0.data[h * 64 + l], y1.data[h * 64 + l], accuracy: 1e-5, "output \(l) changed by input \(t)") }
        }
        XCTAssertGreaterThan(abs(y0.data[t] - y1.data[t]), 1e-3)
    }

    func testParameterNamesAreTheOfficialKeys() {
        var rng = SeededRNG(seed: 1)
        let m = Sashimi(smallConfig(), rng: &rng)
        let names = Set(m.namedParameters.map { $0.0 })
        for key in ["d_layers.0.linear.weight", "d_layers.1.linear.bias", "c_layers.0.layer.layer.kernel.A_real",
                    "c_layers.1.layer.ff.0.0.weight", "c_layers.3.layer.ff.2.bias", "c_layers.0.norm.weight",
                    "u_layers.0.0.linear.weight", "u_layers.1.4.layer.ff.2.weight", "u_layers.1.1.layer.output_linear.0.weight",
                    "norm.bias"] {
            XCTAssertTrue(names.contains(key), key)
        }
        XCTAssertEqual(m.namedParameters.first { $0.0 == "d_layers.0.linear.weight" }?.1.shape, [16, 32, 1])
        XCTAssertEqual(m.namedParameters.first { $0.0 == "u_layers.0.0.linear.weight" }?.1.shape, [64, 32, 1])
    }

    /// Finite differences through the whole backbone (pools, both skips, the final norm).
    func testGradientsThroughTheBackbone() {
        var rng = SeededRNG(seed: 11)
        var c = smallConfig(nLayers: 1, pool: [2, 2]); c.dModel = 4; c.dState = 4
        let m = Sashimi(c, rng: &rng)
        randomise(m, seed: 12)
        let x = Variable(TestSupport.randomTensor([1, 4, 8], rng: &rng), requiresGrad: true)
        let w = TestSupport.randomTensor([1, 4, 8], rng: &rng)
        func loss() -> Float { Autograd.withoutGradients { (m.forward(x).value * w).sum() } }
        let out = (m.forward(x) * Variable(w)).sum()
        out.backward()
        let checked = m.namedParameters.filter { ["d_layers.0.linear.weight", "u_layers.0.0.linear.bias", "c_layers.1.layer.ff.0.0.weight",
                                                   "u_layers.1.1.layer.layer.kernel.C", "norm.weight"].contains($0.0) }
        XCTAssertEqual(checked.count, 5)
        for (name, p) in checked + [("x", x)] {
            let g = p.grad!
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 7)) {
                let old = p.value.data[i]
                p.value.data[i] = old + 1e-2; let up = loss()
                p.value.data[i] = old - 1e-2; let down = loss()
                p.value.data[i] = old
                let fd = (up - down) / 2e-2
                XCTAssertEqual(g.data[i], fd, accuracy: 2e-2 * max(1, abs(fd)), "\(name)[\(i)]")
            }
        }
    }

    func testOfficialArgumentsAreChecked() {
        func build(_ json: String) throws -> Sashimi { try Sashimi.official(arguments: ModuleArguments(json: json), stateDict: [:]) }
        XCTAssertThrowsError(try build(#"{"d_model": 8, "unet": true}"#)) { e in
            XCTAssertTrue("\(e)".contains("unet"), "\(e)")
        }
        XCTAssertThrowsError(try build(#"{"d_model": 8, "n_layers": 1, "mode": "diag", "bogus": 1}"#)) { e in
            XCTAssertTrue("\(e)".contains("bogus"), "\(e)")
        }
        XCTAssertThrowsError(try build(#"{"d_model": 8, "n_layers": 1, "mode": "diag"}"#)) { e in
            XCTAssertTrue("\(e)".contains("missing weight"), "\(e)")
        }
    }

    func testConfigurationProblemsNameTheField() {
        var c = SashimiConfig(); c.dState = 3
        XCTAssertTrue(c.problems.contains { $0.hasPrefix("d_state") })
        c = SashimiConfig(); c.nSSM = 3
        XCTAssertTrue(c.problems.contains { $0.hasPrefix("n_ssm") }, "\(c.problems)")
        XCTAssertTrue(SashimiConfig().problems.isEmpty)
    }
}
