import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// State Memory Replay: step ≡ forward, gradients, and the resolution-change experiment.
final class SMRTests: XCTestCase {
    func testStepModeAndGradients() throws {
        var rng = SeededRNG(seed: 1)
        let conv = FFTConv(kernel: S4DKernel(S4DKernelConfiguration(features: 3, stateSize: 8), rng: &rng), rng: &rng)
        let smr = StateMemoryReplay(conv, window: 3, rng: &rng)
        let x = TestSupport.randomTensor([2, 3, 40], rng: &rng)
        let full = Autograd.withoutGradients { smr.forward(Variable(x), rate: 1).value }
        assertClose(smr.stepThrough(x), full, atol: 1e-5)
        let w = TestSupport.randomTensor([2, 3, 40], rng: &rng)
        func loss() -> Double {
            let o = Autograd.withoutGradients { smr.forward(Variable(x), rate: 1).value }
            return zip(o.data, w.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        smr.forward(Variable(x), rate: 1).backward(w)
        assertParameterGradientsMatchFiniteDifferences([("weight", smr.weight), ("bias", smr.bias)], eps: 1e-2, label: "SMR", loss: loss)
    }

    /// Train at one sampling rate, evaluate at another, with and without SMR. The task is a
    /// continuous-time filter — a leaky average with time constant 10 of a random smooth signal —
    /// learnt from signals sampled every time unit (L = 128) and then applied, zero-shot, to the same
    /// kind of signal sampled every half unit (L = 256, `rate` = 0.5). Reports the relative error of
    /// both models at both rates; asserts that both learnt the task at the training rate and that
    /// both give finite errors at the other rate.
    func testResolutionChangeWithAndWithoutSMR() throws {
        func batch(_ n: Int, step: Double, length: Int, rng: inout SeededRNG) -> (Tensor, Tensor) {
            var u = [Float](), y = [Float]()
            for _ in 0..<n {
                let parts = (0..<3).map { _ in (Double(rng.uniform(0.3, 1)), Double(rng.uniform(0.005, 0.05)), Double(rng.uniform(0, 6.283))) }
                var acc = 0.0
                let decay = exp(-step / 10)
                for i in 0..<length {
                    let t = Double(i) * step
                    let v = parts.reduce(0.0) { $0 + $1.0 * sin(2 * Double.pi * $1.1 * t + $1.2) }
                    acc = acc * decay + (1 - decay) * v
                    u.append(Float(v)); y.append(Float(acc))
                }
            }
            return (Tensor(shape: [n, 1, length], data: u), Tensor(shape: [n, 1, length], data: y))
        }
        final class Model {
            let encoder: Linear, core: any SequenceLayer, readout: Linear
            init(smr: Bool, rng: inout SeededRNG) {
                encoder = Linear(1, 4, rng: &rng)
                let conv = FFTConv(kernel: S4DKernel(S4DKernelConfiguration(features: 4, stateSize: 8, dtMin: 0.01, dtMax: 0.1), rng: &rng),
                                   activation: .identity, rng: &rng)
                core = smr ? StateMemoryReplay(conv, window: 4, rng: &rng) : conv
                readout = Linear(4, 1, rng: &rng)
            }
            var parameters: [(String, Variable)] {
                encoder.namedParameters.map { ("e." + $0.0, $0.1) } + core.namedParameters.map { ("c." + $0.0, $0.1) }
                    + readout.namedParameters.map { ("r." + $0.0, $0.1) }
            }
            func callAsFunction(_ x: Tensor, rate: Float) -> Variable {
                readout.channels(core.forward(encoder.channels(Variable(x)), rate: rate))
            }
        }
        func relativeError(_ m: Model, step: Double, rate: Float, seed: UInt64) -> Double {
            var rng = SeededRNG(seed: seed)
            let (u, y) = batch(16, step: step, length: Int(128 / step), rng: &rng)
            let p = Autograd.withoutGradients { m(u, rate: rate).value }
            let L = y.shape[2]
            var num = 0.0, den = 0.0
            for r in 0..<16 { for t in (L / 2)..<L {
                let i = r * L + t
                num += Double((p.data[i] - y.data[i]) * (p.data[i] - y.data[i])); den += Double(y.data[i] * y.data[i])
            }}
            return num / den
        }
        var results: [Bool: (Double, Double)] = [:]
        for useSMR in [false, true] {
            var rng = SeededRNG(seed: 7)
            let m = Model(smr: useSMR, rng: &rng)
            let opt = try AdamW(groups: [ParameterGroup(m.parameters, learningRate: 0.01, weightDecay: 0)])
            for _ in 0..<250 {
                let (u, y) = batch(8, step: 1, length: 128, rng: &rng)
                let d = m(u, rate: 1) - Variable(y)
                (d * d).mean().backward()
                opt.step(); opt.zeroGrad()
            }
            results[useSMR] = (relativeError(m, step: 1, rate: 1, seed: 99), relativeError(m, step: 0.5, rate: 0.5, seed: 99))
        }
        let (a, b) = (results[false]!, results[true]!)
        print(String(format: "smr resolution change: relative error at the training rate without %.4f with %.4f; at rate 0.5 without %.4f with %.4f",
                     a.0, b.0, a.1, b.1))
        XCTAssertLessThan(a.0, 0.1); XCTAssertLessThan(b.0, 0.1)
        XCTAssertTrue(a.1.isFinite && b.1.isFinite)
    }
}
