import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// FFTConv and S4Block: convolution vs recurrence, gradients, parameter names, and the loader.
final class S4BlockTests: XCTestCase {
    func testConvolutionAndStepModesAgreeOver4096Steps() {
        for disc in [Discretization.zoh, .bilinear] {
            var rng = SeededRNG(seed: 4096)
            let block = S4Block(kernel: S4DKernelConfiguration(features: 4, stateSize: 8, initialization: .diag,
                                                                discretization: disc, dtMin: 0.001, dtMax: 0.1),
                                rng: &rng)
            let L = 4096
            let x = TestSupport.randomTensor([2, 4, L], rng: &rng)
            let conv = Autograd.withoutGradients { block(Variable(x)).value }
            let step = try! ReferenceModules.stepThrough(block, input: x)
            let (d, _) = maxAbsDifference(conv.data, step.data)
            print("conv-vs-step \(disc) L=4096 max_abs_diff=\(d)")
            XCTAssertLessThan(d, 1e-4, "\(disc): conv vs step max |diff| \(d)")
            XCTAssertGreaterThan(conv.data.map(abs).max()!, 0.1) // a non-trivial output
        }
    }

    func testStepModeForLargeBatchesAndOtherActivations() throws {
        // Batch 9 takes the sgemm path of the output linear; tanh / identity / no output linear
        // take the in-place activation paths.
        for (act, final) in [(SequenceActivation.gelu, SequenceActivation?.some(.glu)), (.tanh, .identity),
                             (.sigmoid, .gelu), (.identity, nil)] {
            var rng = SeededRNG(seed: 77)
            let block = S4Block(kernel: S4DKernelConfiguration(features: 3, stateSize: 6, dtMin: 0.01, dtMax: 0.2),
                                activation: act, finalActivation: final, rng: &rng)
            let x = TestSupport.randomTensor([9, 3, 40], rng: &rng)
            let conv = Autograd.withoutGradients { block(Variable(x)).value }
            let step = try ReferenceModules.stepThrough(block, input: x)
            assertClose(step, conv, atol: 1e-5, "\(act) / \(String(describing: final))")
        }
    }

    func testParameterNamesAreTheOfficialKeys() {
        var rng = SeededRNG(seed: 1)
        let block = S4Block(kernel: S4DKernelConfiguration(features: 8, stateSize: 16), rng: &rng)
        XCTAssertEqual(Set(block.stateDict().keys), ["layer.kernel.inv_dt", "layer.kernel.C", "layer.kernel.B",
                                                     "layer.kernel.A_real", "layer.kernel.A_imag", "layer.D",
                                                     "output_linear.0.weight", "output_linear.0.bias"])
        XCTAssertEqual(block.stateDict()["output_linear.0.weight"]?.shape, [16, 8])
        let bi = S4Block(kernel: S4DKernelConfiguration(features: 8, stateSize: 16), channels: 2, bidirectional: true, rng: &rng)
        XCTAssertEqual(bi.stateDict()["layer.kernel.C"]?.shape, [4, 8, 8, 2])
        XCTAssertEqual(bi.stateDict()["layer.D"]?.shape, [2, 8])
        XCTAssertEqual(bi.stateDict()["output_linear.0.weight"]?.shape, [16, 16])
    }

    func testSkipConnectionGradients() {
        var rng = SeededRNG(seed: 2)
        let y = TestSupport.randomTensor([2, 6, 5], rng: &rng)
        let u = TestSupport.randomTensor([2, 3, 5], rng: &rng)
        let d = TestSupport.randomTensor([2, 3], rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [y, u, d]) { v in skipConnection(v[0], input: v[1], D: v[2]) }
        let out = skipConnection(Variable(y), input: Variable(u), D: Variable(d)).value
        // out[1, 1·3 + 2, 4] = y + D[1, 2]·u[1, 2, 4]
        XCTAssertEqual(out.data[(1 * 6 + 5) * 5 + 4], y.data[(1 * 6 + 5) * 5 + 4] + d.data[5] * u.data[(1 * 3 + 2) * 5 + 4], accuracy: 1e-6)
    }

    func testBlockGradientsThroughEveryParameter() {
        var rng = SeededRNG(seed: 3)
        let block = S4Block(kernel: S4DKernelConfiguration(features: 2, stateSize: 4, dtMin: 0.05, dtMax: 0.2),
                            channels: 1, bidirectional: true, rng: &rng)
        let x = TestSupport.randomTensor([2, 2, 7], rng: &rng)
        let params = block.namedParameters
        // The block's maths on fresh leaves (``testBlockForwardEqualsItsComposition`` ties it to the block).
        assertGradientsMatchFiniteDifferences(inputs: [x] + params.map { $0.1.value }, eps: 1e-3) { v in
            Self.blockForward(block, x: v[0], leaves: Array(v[1...]))
        }
    }

    /// The block's forward with its parameters replaced by `leaves` (same order as namedParameters).
    static func blockForward(_ block: S4Block, x: Variable, leaves: [Variable]) -> Variable {
        let k = (block.layer as! FFTConv).kernel as! S4DKernel
        let (invDt, c, b, aReal, aImag, d, w, bias) = (leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5], leaves[6], leaves[7])
        let L = x.shape[2]
        let kern = s4dKernel(invDt: invDt, aReal: aReal, aImag: aImag, b: b, c: c, length: L,
                             discretization: k.configuration.discretization)
        let y = fftConvolution(x, kernels: [layoutKernel(kern, inputLength: L, bidirectional: (block.layer as! FFTConv).bidirectional)])
        let z = gelu(skipConnection(y, input: x, D: d))
        return glu(linearChannels(z, w, bias), axis: 1)
    }

    func testBlockForwardEqualsItsComposition() {
        var rng = SeededRNG(seed: 4)
        let block = S4Block(kernel: S4DKernelConfiguration(features: 3, stateSize: 6), channels: 1, bidirectional: true, rng: &rng)
        let x = TestSupport.randomTensor([2, 3, 9], rng: &rng)
        let a = block(Variable(x)).value
        let b = Self.blockForward(block, x: Variable(x), leaves: block.namedParameters.map { $0.1 }).value
        assertClose(a, b, atol: 0)
        // Parameters of the block receive gradients through the block itself.
        let out = block(Variable(x))
        out.backward()
        for (name, p) in block.namedParameters { XCTAssertNotNil(p.grad, name) }
    }

    func testMaximumKernelLengthAndRate() {
        var rng = SeededRNG(seed: 5)
        let kernel = S4DKernel(S4DKernelConfiguration(features: 2, stateSize: 4), rng: &rng)
        let conv = FFTConv(kernel: kernel, activation: .identity, maxKernelLength: 5, rng: &rng)
        let x = TestSupport.randomTensor([1, 2, 12], rng: &rng)
        // With l_max = 5 at rate 0.5 the kernel has min(12, round(5 / 0.5)) = 10 taps.
        let y = Autograd.withoutGradients { conv(Variable(x), rate: 0.5).value }
        let k = kernel.kernel(length: 10, rate: 0.5).value
        var e = Tensor.zeros([1, 2, 12])
        for h in 0..<2 { for l in 0..<12 {
            var s = conv.D.value.data[h] * x.data[h * 12 + l]
            for j in 0..<10 where l - j >= 0 { s += k.data[h * 10 + j] * x.data[h * 12 + l - j] }
            e.data[h * 12 + l] = s
        }}
        assertClose(y, e, atol: 1e-5)
    }

    func testLoaderRejectsBadArgumentsAndWeightsWithTypedErrors() throws {
        var rng = SeededRNG(seed: 6)
        let reference = S4Block(kernel: S4DKernelConfiguration(features: 4, stateSize: 8), rng: &rng)
        let weights = reference.stateDict()
        let good = #"{"d_model": 4, "d_state": 8, "mode": "diag", "final_act": "glu", "transposed": true}"#
        let loaded = try OfficialLoader.s4Block(arguments: ModuleArguments(json: good), stateDict: weights)
        XCTAssertEqual(loaded.stateDict(), weights)

        func error(_ json: String, _ w: [String: Tensor]) -> OfficialModuleError? {
            do { _ = try OfficialLoader.s4Block(arguments: ModuleArguments(json: json), stateDict: w); return nil }
            catch let e as OfficialModuleError { return e } catch { return nil }
        }
        XCTAssertEqual(error(#"{"d_model": 4, "d_state": 8, "mode": "diag", "colour": 1}"#, weights), .unknownArguments(["colour"]))
        XCTAssertEqual(error(#"{"d_model": 4, "d_state": 8, "mode": "nplr"}"#, weights), .missingArgument("l_max"))
        XCTAssertEqual(error(#"{"d_model": 4, "d_state": 8, "mode": "shift"}"#, weights),
                       .unsupportedArgument(key: "mode", value: "shift", reason: "implemented kernels: diag (s4d), dplr, ema, conv"))
        XCTAssertEqual(error(#"{"d_model": "4", "mode": "diag"}"#, weights), .wrongType(key: "d_model", expected: "an integer"))
        XCTAssertEqual(error(#"{"d_state": 8, "mode": "diag"}"#, weights), .missingArgument("d_model"))
        XCTAssertEqual(error(#"[1, 2]"#, weights), .invalidArguments("not a JSON object"))
        XCTAssertEqual(error(#"{"d_model": 4, "d_state": 8, "mode": "diag", "disc": "foh"}"#, weights),
                       .unsupportedArgument(key: "disc", value: "foh", reason: "implemented: zoh, bilinear, dss"))
        var missing = weights; missing["layer.D"] = nil
        XCTAssertEqual(error(good, missing), .weights(.missingKey("layer.D")))
        var extra = weights; extra["layer.kernel.P"] = Tensor.zeros([1])
        XCTAssertEqual(error(good, extra), .weights(.unexpectedKeys(["layer.kernel.P"])))
        var wrong = weights; wrong["layer.kernel.A_real"] = Tensor.zeros([4, 3])
        XCTAssertEqual(error(good, wrong), .weights(.shapeMismatch(key: "layer.kernel.A_real", expected: [4, 4], found: [4, 3])))
    }

    func testNullActivationsMeanNone() throws {
        var rng = SeededRNG(seed: 9)
        let plain = S4Block(kernel: S4DKernelConfiguration(features: 3, stateSize: 4), activation: .identity,
                            finalActivation: nil, rng: &rng)
        let json = #"{"d_model": 3, "d_state": 4, "mode": "diag", "final_act": null, "activation": null}"#
        let loaded = try OfficialLoader.s4Block(arguments: ModuleArguments(json: json), stateDict: plain.stateDict())
        XCTAssertNil(loaded.outputLinear)
        XCTAssertEqual((loaded.layer as! FFTConv).activation, .identity)
        let x = TestSupport.randomTensor([1, 3, 5], rng: &rng)
        XCTAssertEqual(loaded(Variable(x)).value, plain(Variable(x)).value)
        let defaults = try OfficialLoader.s4Block(arguments: ModuleArguments(json: #"{"d_model": 3, "d_state": 4, "mode": "diag"}"#),
                                                  stateDict: S4Block(kernel: S4DKernelConfiguration(features: 3, stateSize: 4), rng: &rng).stateDict())
        XCTAssertEqual(defaults.finalActivation, .glu)
        XCTAssertEqual((defaults.layer as! FFTConv).activation, .gelu)
    }

    func testRegistryAcceptsNewModuleKinds() throws {
        ReferenceModules.register("test.Identity") { f in ["io.output": try f.tensor("io.input")] }
        let t = Tensor(shape: [2], data: [1, 2])
        let fixture = ReferenceFixture(name: "id", file: SafeTensorsFile(tensors: ["io.input": t, "io.output": t],
                                                                          metadata: ["module": "test.Identity"]))
        XCTAssertEqual(try ReferenceModules.runner(for: "test.Identity")?(fixture)["io.output"], t)
        XCTAssertTrue(ReferenceModules.registered.contains(OfficialLoader.s4BlockModule))
    }

    func testFixtureRunnerReportsMalformedFixturesAsErrors() throws {
        var rng = SeededRNG(seed: 7)
        let block = S4Block(kernel: S4DKernelConfiguration(features: 4, stateSize: 8), rng: &rng)
        let args = #"{"d_model": 4, "d_state": 8, "mode": "diag"}"#
        let runner = try XCTUnwrap(ReferenceModules.runner(for: OfficialLoader.s4BlockModule))
        func run(_ tensors: [String: Tensor], _ metadata: [String: String]) -> String? {
            let f = ReferenceFixture(name: "bad", file: SafeTensorsFile(tensors: tensors, metadata: metadata))
            do { _ = try runner(f); return nil } catch { return "\(error)" }
        }
        let x = TestSupport.randomTensor([1, 4, 6], rng: &rng)
        var tensors = block.stateDict()
        tensors["io.input"] = x
        tensors["io.output"] = x
        tensors["io.output_step"] = x
        XCTAssertNil(run(tensors, ["module": OfficialLoader.s4BlockModule, "args": args]))
        XCTAssertEqual(run(tensors, ["module": OfficialLoader.s4BlockModule]), "bad: no 'args' in __metadata__")
        var wrongInput = tensors; wrongInput["io.input"] = TestSupport.randomTensor([1, 3, 6], rng: &rng)
        XCTAssertEqual(run(wrongInput, ["args": args]), "bad: input has shape [1, 3, 6]; expected rank 3 with 4 features on axis 1")
        var odd = tensors; odd["io.output_colour"] = x
        XCTAssertEqual(run(odd, ["args": args]), "bad: no way to compute 'io.output_colour'")
        var noInput = tensors; noInput["io.input"] = nil
        XCTAssertEqual(run(noInput, ["args": args]), "bad: no tensor 'io.input'")
        let bi = S4Block(kernel: S4DKernelConfiguration(features: 4, stateSize: 8), bidirectional: true, rng: &rng)
        var biTensors = bi.stateDict()
        biTensors["io.input"] = x; biTensors["io.output_step"] = x
        XCTAssertEqual(run(biTensors, ["args": #"{"d_model": 4, "d_state": 8, "mode": "diag", "bidirectional": true}"#]),
                       "bad: unsupported constructor argument bidirectional=true: a bidirectional block has no step mode")
        var badWeight = tensors; badWeight["layer.D"] = Tensor.zeros([2, 4])
        XCTAssertEqual(run(badWeight, ["args": args]), "bad: weights: weight 'layer.D' has shape [2, 4], expected [1, 4]")
    }

    func testFFTConvModuleRunsFromOfficialArguments() throws {
        var rng = SeededRNG(seed: 8)
        let kernel = S4DKernel(S4DKernelConfiguration(features: 3, stateSize: 4, channels: 4), rng: &rng)
        let conv = FFTConv(kernel: kernel, channels: 2, bidirectional: true, activation: .gelu, maxKernelLength: 6, rng: &rng)
        let x = TestSupport.randomTensor([2, 3, 10], rng: &rng)
        let x2 = TestSupport.randomTensor([2, 3, 20], rng: &rng)
        var tensors = conv.stateDict()
        tensors["io.input"] = x; tensors["io.output"] = conv(Variable(x)).value
        tensors["io.input_rate0.5"] = x2; tensors["io.output_rate0.5"] = conv(Variable(x2), rate: 0.5).value
        let args = #"{"d_model": 3, "d_state": 4, "channels": 2, "bidirectional": true, "mode": "diag", "l_max": 6}"#
        let f = ReferenceFixture(name: "conv", file: SafeTensorsFile(tensors: tensors, metadata: ["args": args]))
        let out = try XCTUnwrap(ReferenceModules.runner(for: OfficialLoader.fftConvModule))(f)
        XCTAssertEqual(out["io.output"]?.shape, [2, 6, 10])
        XCTAssertEqual(out["io.output"], tensors["io.output"])
        XCTAssertEqual(out["io.output_rate0.5"], tensors["io.output_rate0.5"])
    }
}
