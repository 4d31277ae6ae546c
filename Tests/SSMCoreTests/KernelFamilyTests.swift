import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// The shared kernel ops (Vandermonde sum, Cauchy nodes, irfft) against direct formulas and
/// finite differences, and every registry kernel: gradients, recurrence ≡ convolution, options.
final class KernelFamilyTests: XCTestCase {
    // MARK: Shared ops

    func testVandermondeMatchesDirectSumAndItsGradients() {
        var rng = SeededRNG(seed: 3)
        let (C, H, N, L) = (2, 3, 4, 37)
        let wr = TestSupport.randomTensor([C, H, N], rng: &rng), wi = TestSupport.randomTensor([C, H, N], rng: &rng)
        let xr = Tensor(shape: [H, N], data: (0..<(H * N)).map { _ in -rng.uniform(0.01, 0.3) })
        let xi = TestSupport.randomTensor([H, N], scale: 1.5, rng: &rng)
        let k = vandermondeKernel(weights: ComplexVariable(re: Variable(wr), im: Variable(wi)),
                                  logBase: ComplexVariable(re: Variable(xr), im: Variable(xi)), length: L).value
        var expected = Tensor.zeros([C, H, L])
        for c in 0..<C { for h in 0..<H { for n in 0..<N { for l in 0..<L {
            let m = exp(Double(xr.data[h * N + n]) * Double(l)), t = Double(xi.data[h * N + n]) * Double(l)
            let w = (Double(wr.data[(c * H + h) * N + n]), Double(wi.data[(c * H + h) * N + n]))
            expected.data[(c * H + h) * L + l] += Float(m * (w.0 * cos(t) - w.1 * sin(t)))
        }}}}
        assertClose(k, expected, atol: 2e-5)
        assertGradientsMatchFiniteDifferences(inputs: [wr, wi, xr, xi], eps: 1e-3, atol: 3e-3, rtol: 3e-3) { v in
            vandermondeKernel(weights: ComplexVariable(re: v[0], im: v[1]), logBase: ComplexVariable(re: v[2], im: v[3]), length: L)
        }
    }

    func testCauchyNodesMatchDirectSumAndItsGradients() {
        var rng = SeededRNG(seed: 5)
        let (M, H, N, L) = (3, 2, 4, 12)
        let vr = TestSupport.randomTensor([M, H, N], rng: &rng), vi = TestSupport.randomTensor([M, H, N], rng: &rng)
        let wr = Tensor(shape: [H, N], data: (0..<(H * N)).map { _ in -rng.uniform(0.05, 0.5) })
        let wi = TestSupport.randomTensor([H, N], rng: &rng)
        let out = cauchyNodes(ComplexVariable(re: Variable(vr), im: Variable(vi)), poles: ComplexVariable(re: Variable(wr), im: Variable(wi)), length: L)
        let J = L / 2 + 1
        for m in 0..<M { for h in 0..<H { for j in 0..<J {
            let t = -2 * Double.pi * Double(j) / Double(L)
            let om = Complex64(cos(t), sin(t))
            let a = (Complex64.one - om) * 2, b = Complex64.one + om
            var acc = Complex64(0)
            for n in 0..<N {
                let v = Complex64(Double(vr.data[(m * H + h) * N + n]), Double(vi.data[(m * H + h) * N + n]))
                let w = Complex64(Double(wr.data[h * N + n]), Double(wi.data[h * N + n]))
                acc += v * 2 / (a - w * b) + v.conjugate * 2 / (a - w.conjugate * b)
            }
            let i = (m * H + h) * J + j
            XCTAssertEqual(Double(out.re.value.data[i]), acc.re, accuracy: 1e-4 * max(1, abs(acc.re)))
            XCTAssertEqual(Double(out.im.value.data[i]), acc.im, accuracy: 1e-4 * max(1, abs(acc.im)))
        }}}
        assertGradientsMatchFiniteDifferences(inputs: [vr, vi, wr, wi], eps: 1e-3, atol: 3e-3, rtol: 3e-3) { v in
            let o = cauchyNodes(ComplexVariable(re: v[0], im: v[1]), poles: ComplexVariable(re: v[2], im: v[3]), length: L)
            return concat([o.re, o.im], axis: 0)
        }
    }

    func testIrfftMatchesInverseDFTAndItsGradients() {
        var rng = SeededRNG(seed: 8)
        for L in [8, 9] {
            let J = L / 2 + 1
            let xr = TestSupport.randomTensor([2, J], rng: &rng), xi = TestSupport.randomTensor([2, J], rng: &rng)
            let y = irfft(ComplexVariable(re: Variable(xr), im: Variable(xi)), length: L).value
            for r in 0..<2 { for t in 0..<L {
                var s = Double(xr.data[r * J])
                for k in 1..<J {
                    let c: Double = (L % 2 == 0 && k == L / 2) ? 1 : 2
                    let th = 2 * Double.pi * Double(k * t) / Double(L)
                    let re = Double(xr.data[r * J + k]), im = (L % 2 == 0 && k == L / 2) ? 0 : Double(xi.data[r * J + k])
                    s += c * (re * cos(th) - im * sin(th))
                }
                XCTAssertEqual(Double(y.data[r * L + t]), s / Double(L), accuracy: 1e-5)
            }}
            assertGradientsMatchFiniteDifferences(inputs: [xr, xi], eps: 1e-2, atol: 1e-3, rtol: 1e-3) { v in
                irfft(ComplexVariable(re: v[0], im: v[1]), length: L)
            }
        }
    }

    func testComplexArithmeticGradients() {
        var rng = SeededRNG(seed: 9)
        let t = (0..<4).map { _ in TestSupport.randomTensor([3], rng: &rng) }
        assertGradientsMatchFiniteDifferences(inputs: t, eps: 1e-3, atol: 2e-3, rtol: 2e-3) { v in
            let a = ComplexVariable(re: v[0], im: v[1]), b = ComplexVariable(re: v[2] + 2, im: v[3])
            let r = (a * b).exp / b + a.reciprocal * 0.1 - (1 - a)
            return concat([r.re, r.im], axis: 0)
        }
    }

    // MARK: Every registry kernel

    /// A small instance of every registry kernel (C = 2 channels, H = 3, N = 8, l_max = 24).
    static func everyKernel(seed: UInt64 = 1) throws -> [(String, any SequenceKernel)] {
        var out: [(String, any SequenceKernel)] = []
        var rng = SeededRNG(seed: seed)
        for entry in KernelRegistry.entries {
            for disc in entry.discretizations.isEmpty ? [nil] : entry.discretizations.map(Optional.some) {
                for initName in entry.initializations {
                    var o = KernelOptions(kernel: entry.name, stateSize: 8, initialization: initName, discretization: disc,
                                          dtMin: 0.01, dtMax: 0.1, kernelDim: 8)
                    if entry.name == "dlr" { o.dtMin = 0.05; o.dtMax = 0.5 }
                    let k = try KernelRegistry.build(o, shape: KernelShape(features: 3, channels: 2, maxLength: 24), rng: &rng)
                    out.append((o.summary, k))
                }
            }
        }
        return out
    }

    func testRegistryHasEveryKernelOfTheFamily() {
        XCTAssertEqual(Set(KernelRegistry.names), ["s4d", "dplr", "dss", "dlr", "ema", "sgconv", "conv"])
    }

    func testEveryKernelGradientMatchesFiniteDifferences() throws {
        for (name, k) in try Self.everyKernel() {
            let L = 24
            var rng = SeededRNG(seed: 11)
            if let d = k as? DPLRKernel {
                // FouT/LegT start at Re Λ = −1e−4, where Float central differences through the
                // near-singular Cauchy node at ω = 1 are ill-conditioned: test away from it.
                d.aReal.value = d.aReal.value.map { _ in log(0.5) + 0.1 * rng.normal() }
            }
            let w = TestSupport.randomTensor([2, 3, L], rng: &rng)
            func loss() -> Double {
                let v = Autograd.withoutGradients { k.kernel(length: L, rate: 1).value }
                return zip(v.data, w.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            let out = k.kernel(length: L, rate: 1)
            XCTAssertEqual(out.shape, [2, 3, L], name)
            XCTAssertTrue(out.value.data.allSatisfy(\.isFinite), "\(name): non-finite kernel")
            for (_, p) in k.namedParameters { p.zeroGrad() }
            out.backward(w)
            // A handful of entries per parameter, central differences in place.
            assertParameterGradientsMatchFiniteDifferences(k.namedParameters, samples: 5, relativeEps: 1e-3, atol: 2e-2, rtol: 2e-2,
                                                           label: name, loss: loss)
        }
    }

    func testEveryStepModeMatchesItsKernel() throws {
        for (name, k) in try Self.everyKernel() {
            guard let r = k.recurrence(rate: 1) else {
                XCTAssertTrue(name.hasPrefix("s4d(init=") && name.contains("disc=dss"), "\(name) has no step mode")
                continue
            }
            let L = 24
            let kern = Autograd.withoutGradients { k.kernel(length: L, rate: 1).value }   // (C, H, L)
            var state = r.defaultState(batch: 1)
            var got = Tensor.zeros([2, 3, L])
            for t in 0..<L {
                let u = Tensor(shape: [1, 3], data: [Float](repeating: t == 0 ? 1 : 0, count: 3))
                let y = r.step(u, state: &state)                                           // (1, C, H)
                for c in 0..<2 { for h in 0..<3 { got.data[(c * 3 + h) * L + t] = y.data[c * 3 + h] } }
            }
            assertClose(got, kern, atol: 2e-5, rtol: 1e-4, name)
        }
    }

    func testRateOneIsTheReferenceAndOtherRatesStayFinite() throws {
        for (name, k) in try Self.everyKernel() {
            let half = Autograd.withoutGradients { k.kernel(length: 48, rate: 0.5).value }
            XCTAssertTrue(half.data.allSatisfy(\.isFinite), "\(name) at rate 0.5")
            let double = Autograd.withoutGradients { k.kernel(length: 12, rate: 2).value }
            XCTAssertTrue(double.data.allSatisfy(\.isFinite), "\(name) at rate 2")
        }
    }

    /// A continuous kernel sampled at twice the resolution (rate ½) keeps its shape: every other
    /// tap of the fine kernel ≈ half the coarse tap (the ZOH amplitude convention), when the modes
    /// are well resolved (|dt·A| ≲ 0.1, so the discretisations agree to first order).
    func testContinuousKernelsResampleConsistently() throws {
        var rng = SeededRNG(seed: 4)
        let cases: [KernelOptions] = [
            KernelOptions(kernel: "s4d", stateSize: 8, discretization: "zoh"),
            KernelOptions(kernel: "s4d", stateSize: 8, discretization: "bilinear"),
            KernelOptions(kernel: "dplr", stateSize: 8, initialization: "legs"),
            KernelOptions(kernel: "dplr", stateSize: 8, initialization: "legt"),
            KernelOptions(kernel: "dplr", stateSize: 8, initialization: "fout"),
            KernelOptions(kernel: "dss", stateSize: 8, discretization: "exp"),
        ]
        for var o in cases {
            o.dtMin = 0.002; o.dtMax = 0.01
            let k = try KernelRegistry.build(o, shape: KernelShape(features: 3, channels: 2, maxLength: 64), rng: &rng)
            let coarse = Autograd.withoutGradients { k.kernel(length: 32, rate: 1).value }
            let fine = Autograd.withoutGradients { k.kernel(length: 64, rate: 0.5).value }
            var worst: Float = 0, scale: Float = 0
            for row in 0..<6 { for l in 1..<32 {
                worst = max(worst, abs(2 * fine.data[row * 64 + 2 * l] - coarse.data[row * 32 + l]))
                scale = max(scale, abs(coarse.data[row * 32 + l]))
            }}
            XCTAssertLessThan(worst, 0.1 * scale, o.summary)
        }
    }

    func testConvKernelIgnoresRateAndSGConvInterpolatesAsPyTorch() {
        var rng = SeededRNG(seed: 2)
        let conv = ConvKernel(features: 2, channels: 1, length: 6, rng: &rng)
        XCTAssertEqual(conv.kernel(length: 6, rate: 0.5).value, conv.taps.value)
        XCTAssertEqual(conv.kernel(length: 8, rate: 1).value.data.suffix(2), [0, 0, 0, 0].suffix(2))
        // interpolate(x, scale_factor=2, mode='linear'): out[0] = x0, out[2m] = ¼x[m−1] + ¾x[m], out[2m+1] = ¾x[m] + ¼x[m+1], last = x[−1].
        let m = interpolationMatrix(inputLength: 3, scale: 2)
        let x: [Float] = [1, 2, 4]
        let out = (0..<6).map { j in (0..<3).reduce(Float(0)) { $0 + x[$1] * m.data[$1 * 6 + j] } }
        XCTAssertEqual(out, [1, 1.25, 1.75, 2.5, 3.5, 4])
    }

    // MARK: Options

    func testOptionsErrorsNameTheField() {
        func message(_ o: KernelOptions) -> String {
            do { try KernelRegistry.validate(o); return "valid" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(KernelOptions(kernel: "s6")), "unknown kernel \"s6\" (valid: s4d, dplr, dss, dlr, ema, sgconv, conv)")
        XCTAssertEqual(message(KernelOptions(kernel: "dplr", initialization: "diag-lin")), "init = diag-lin: dplr takes legs, fout, legt")
        XCTAssertEqual(message(KernelOptions(kernel: "ema", discretization: "zoh")), "disc = zoh: ema has no discretisation")
        XCTAssertEqual(message(KernelOptions(kernel: "s4d", stateSize: 7)), "d_state = 7: must be even and in 2…1024")
        XCTAssertEqual(message(KernelOptions(kernel: "s4d", dtMin: 0)), "dt_min = 0.0: must be > 0")
        XCTAssertEqual(message(KernelOptions(kernel: "ema", reparam: "softplus")), "reparam = softplus: ema has no real part of A to reparameterise")
        XCTAssertEqual(message(KernelOptions(kernel: "s4d", reparam: "tanh")), "reparam = tanh: valid: exp, softplus, best")
        XCTAssertEqual(message(KernelOptions(kernel: "dss", discretization: "softmax")), "valid")
        var rng = SeededRNG(seed: 0)
        XCTAssertThrowsError(try KernelRegistry.build(KernelOptions(kernel: "dplr"), shape: KernelShape(features: 2), rng: &rng)) {
            XCTAssertEqual("\($0)", "l_max = null: dplr needs the layer's training length (l_kernel)")
        }
    }

    func testKernelsMarkTheirSSMParameters() throws {
        for (name, k) in try Self.everyKernel() {
            for (pname, p) in k.namedParameters where p.requiresGrad {
                let expected: ParameterRole = (name.hasPrefix("ema") && pname == "gamma") || pname == "C" ? .weight : .ssm
                XCTAssertEqual(p.role, expected, "\(name).\(pname)")
            }
        }
    }

    // MARK: StableSSM

    /// The loss `Σ_l K[l]` of a one-mode real S4D kernel grows like `1/λ` as its eigenvalue
    /// `−λ` approaches the stability boundary; its gradient w.r.t. the raw parameter grows like
    /// `1/λ` with the plain `exp` map, but stays bounded relative to the parameter with the
    /// StableSSM "best" map (`|∂L/∂w| / |w| → 2a`).
    func testBestReparameterizationKeepsGradientBoundedNearTheBoundary() {
        func ratio(_ map: RealReparameterization, lambda: Double) -> Double {
            let w = map.inverse(lambda)
            let k = S4DKernel(S4DKernelConfiguration(features: 1, stateSize: 2, reparam: map), rng: &Self.rng)
            k.invDt.value = Tensor(shape: [1, 1], data: [0])          // dt = 1
            k.aReal.value = Tensor(shape: [1, 1], data: [Float(w)])
            k.aImag.value = Tensor(shape: [1, 1], data: [0])
            k.c.value = Tensor(shape: [1, 1, 1, 2], data: [0.5, 0])
            let out = k.kernel(length: 40_000, rate: 1)
            out.sum().backward()
            return abs(Double(k.aReal.grad!.data[0])) / max(abs(w), 1)
        }
        let lambdas = [1e-1, 1e-2, 1e-3]
        let plain = lambdas.map { ratio(.exp, lambda: $0) }
        let best = lambdas.map { ratio(.best, lambda: $0) }
        // exp: the ratio grows like 1/(λ·|log λ|) (≈ 33× over these two decades); best: it stays below 2a·(1 + ε).
        XCTAssertGreaterThan(plain[1], 5 * plain[0])
        XCTAssertGreaterThan(plain[2], 5 * plain[1])
        for r in best { XCTAssertLessThan(r, 2 * Double(RealReparameterization.bestA) * 1.2) }
    }

    nonisolated(unsafe) static var rng = SeededRNG(seed: 1)
}

/// Liquid-S4's terms against direct loops and finite differences.
final class LiquidTermsTests: XCTestCase {
    func testProductIndicesAreTheReferenceTuples() {
        // L = 32: degree 2 uses positions 23…31 (first kept (23, 28)), degree 3 positions 25…31 (first (25, 26, 30)).
        let two = LiquidTerms.productIndices(length: 32, degree: 2)!, three = LiquidTerms.productIndices(length: 32, degree: 3)!
        XCTAssertEqual(two.count, 32); XCTAssertEqual(two.first, [23, 28]); XCTAssertEqual(two.last, [30, 31])
        XCTAssertEqual(three.count, 32); XCTAssertEqual(three.first, [25, 26, 30]); XCTAssertEqual(three.last, [29, 30, 31])
        XCTAssertNil(LiquidTerms.productIndices(length: 4, degree: 2))
    }

    func testPolybTermMatchesItsFormula() {
        var rng = SeededRNG(seed: 3)
        let k = S4DKernel(S4DKernelConfiguration(features: 2, stateSize: 4, discretization: .bilinear), rng: &rng)
        let L = 8
        let u = TestSupport.randomTensor([1, 2, L], rng: &rng)
        let terms = LiquidTerms(kind: .polyb, degree: 3)
        let got = Autograd.withoutGradients {
            terms.contribution(Variable(u), kernel: k, convolutionKernel: k.kernel(length: L, rate: 1), rate: 1).value
        }
        for h in 0..<2 {
            // dB_n = dt·B/(1 − dtA/2); S = 2Re Σ dB; γ = 2Re Σ conj(C)·dB.
            let dt = Double(exp(k.invDt.value.data[h]))
            var s = 0.0, gamma = 0.0
            for n in 0..<2 {
                let a = Complex64(-exp(Double(k.aReal.value.data[h * 2 + n])), -Double(k.aImag.value.data[h * 2 + n]))
                let b = Complex64(Double(k.b.value.data[2 * (h * 2 + n)]), Double(k.b.value.data[2 * (h * 2 + n) + 1]))
                let db = b * Complex64(dt) / (Complex64.one - a * (dt / 2))
                let c = Complex64(Double(k.c.value.data[2 * (h * 2 + n)]), Double(k.c.value.data[2 * (h * 2 + n) + 1]))
                s += 2 * db.re; gamma += 2 * (c.conjugate * db).re
            }
            for l in 0..<L {
                var expected = 0.0
                for p in 2...3 {
                    let t = LiquidTerms.productIndices(length: L, degree: p)![L - 1 - l]
                    let prod = t.reduce(1.0) { $0 * Double(u.data[h * L + $1]) }
                    expected += gamma * pow(s, Double((1 << (p - 1)) - 1)) * prod
                }
                XCTAssertEqual(Double(got.data[h * L + l]), expected, accuracy: 1e-5 * max(1, abs(expected)))
            }
        }
    }

    func testLiquidGradientsMatchFiniteDifferences() {
        for kind in LiquidTerms.Kind.allCases {
            var rng = SeededRNG(seed: 5)
            let k = S4DKernel(S4DKernelConfiguration(features: 2, stateSize: 4, discretization: .zoh, dtMin: 0.05, dtMax: 0.2), rng: &rng)
            let terms = LiquidTerms(kind: kind, degree: 3)
            let u = TestSupport.randomTensor([1, 2, 8], rng: &rng)
            // Through the input …
            assertGradientsMatchFiniteDifferences(inputs: [u], eps: 1e-2, atol: 3e-3, rtol: 3e-3) { v in
                terms.contribution(v[0], kernel: k, convolutionKernel: k.kernel(length: 8, rate: 1), rate: 1)
            }
            // … and through the kernel's parameters (central differences in place).
            let w = TestSupport.randomTensor([1, 2, 8], rng: &rng)
            func loss() -> Double {
                let o = Autograd.withoutGradients { terms.contribution(Variable(u), kernel: k, convolutionKernel: k.kernel(length: 8, rate: 1), rate: 1).value }
                return zip(o.data, w.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            for (_, p) in k.namedParameters { p.zeroGrad() }
            terms.contribution(Variable(u), kernel: k, convolutionKernel: k.kernel(length: 8, rate: 1), rate: 1).backward(w)
            assertParameterGradientsMatchFiniteDifferences(k.namedParameters, label: "\(kind)", loss: loss)
        }
    }
}

final class GatedBlockTests: XCTestCase {
    /// The gated block around each stepping registry kernel: convolution ≡ step.
    func testGatedBlockStepsLikeItsConvolution() throws {
        for name in ["s4d", "dplr", "dss", "ema"] {
            var rng = SeededRNG(seed: 21)
            let kernel = try KernelRegistry.build(KernelOptions(kernel: name, stateSize: 8, dtMin: 0.01, dtMax: 0.1),
                                                  shape: KernelShape(features: 4, channels: 1, maxLength: 32), rng: &rng)
            let block = GatedBlock(layer: FFTConv(kernel: kernel, maxKernelLength: 32, rng: &rng), gate: 3,
                                   gateActivation: .tanh, multActivation: .gelu, rng: &rng)
            XCTAssertEqual(block.namedParameters.map(\.0).filter { !$0.hasPrefix("layer.") },
                           ["input_gate.0.weight", "input_gate.0.bias", "output_gate.weight", "output_gate.bias",
                            "output_linear.0.weight", "output_linear.0.bias"])
            let x = TestSupport.randomTensor([2, 4, 32], rng: &rng)
            let conv = Autograd.withoutGradients { block.forward(Variable(x), rate: 1).value }
            assertClose(block.stepThrough(x), conv, atol: 1e-4, name)
        }
    }
}
