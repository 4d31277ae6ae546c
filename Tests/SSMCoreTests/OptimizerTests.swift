import XCTest
import Foundation
import SSMCore
import TestSupport

final class OptimizerTests: XCTestCase {
    func param(_ data: [Float], name: String) -> (String, Variable) {
        (name, Variable(Tensor(shape: [data.count], data: data), requiresGrad: true, name: name))
    }

    /// Reference AdamW in Double (torch.optim.AdamW's update), one parameter over several steps.
    func referenceAdamW(_ w0: [Double], grads: [[Double]], lr: [Double], wd: Double,
                        b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8) -> [Double] {
        var w = w0, m = [Double](repeating: 0, count: w0.count), v = m
        for (t, g) in grads.enumerated() {
            let step = Double(t + 1)
            for i in 0..<w.count {
                w[i] *= 1 - lr[t] * wd
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let mh = m[i] / (1 - Foundation.pow(b1, step)), vh = v[i] / (1 - Foundation.pow(b2, step))
                w[i] -= lr[t] * mh / (vh.squareRoot() + eps)
            }
        }
        return w
    }

    func testAdamWMatchesFormulaWithTwoGroupsAndSchedule() throws {
        let a = param([0.5, -1.0, 2.0], name: "a"), s = param([0.1, 0.3], name: "s")
        let opt = try AdamW(groups: [ParameterGroup([a], learningRate: 0.01, weightDecay: 0.1),
                                     ParameterGroup([s], learningRate: 0.001, weightDecay: 0)])
        let gA: [[Double]] = [[0.3, -0.2, 1.0], [0.1, 0.4, -0.5], [-0.2, 0.0, 0.7]]
        let gS: [[Double]] = [[1.0, -2.0], [0.5, 0.5], [-1.0, 3.0]]
        let mult: [Float] = [1, 0.5, 0.25]
        for t in 0..<3 {
            a.1.grad = Tensor(shape: [3], data: gA[t].map(Float.init))
            s.1.grad = Tensor(shape: [2], data: gS[t].map(Float.init))
            opt.step(learningRateMultiplier: mult[t])
        }
        let refA = referenceAdamW([0.5, -1, 2], grads: gA, lr: mult.map { 0.01 * Double($0) }, wd: 0.1)
        let refS = referenceAdamW([0.1, 0.3], grads: gS, lr: mult.map { 0.001 * Double($0) }, wd: 0)
        for i in 0..<3 { XCTAssertEqual(Double(a.1.value.data[i]), refA[i], accuracy: 1e-6) }
        for i in 0..<2 { XCTAssertEqual(Double(s.1.value.data[i]), refS[i], accuracy: 1e-6) }
        // The first step moves every coordinate by ≈ lr (Adam's normalised step).
        XCTAssertNotEqual(a.1.value.data[0], 0.5)
    }

    func testAdamWSkipsParametersWithoutGradientAndRestoresState() throws {
        let a = param([1, 2], name: "a"), b = param([3], name: "b")
        let opt = try AdamW(groups: [ParameterGroup([a, b], learningRate: 0.1, weightDecay: 0.01)])
        a.1.grad = Tensor(shape: [2], data: [0.5, -0.5])
        opt.step()
        XCTAssertEqual(b.1.value.data, [3])
        let saved = opt.stateDict()
        XCTAssertEqual(saved["a.step"]?.scalar, 1)
        XCTAssertEqual(saved["b.step"]?.scalar, 0)
        XCTAssertEqual(saved["a.exp_avg"]!.data[0], 0.05, accuracy: 1e-7)
        XCTAssertEqual(saved["a.exp_avg_sq"]!.data[1], 0.00025, accuracy: 1e-8)  // (1 − β₂)·g² in Float
        // A second optimiser restored from the state takes the same next step.
        let a2 = param(a.1.value.data, name: "a"), b2 = param([3], name: "b")
        let opt2 = try AdamW(groups: [ParameterGroup([a2, b2], learningRate: 0.1, weightDecay: 0.01)])
        try opt2.load(stateDict: saved)
        a.1.grad = Tensor(shape: [2], data: [0.2, 0.1]); a2.1.grad = a.1.grad
        opt.step(); opt2.step()
        XCTAssertEqual(a.1.value, a2.1.value)
        var broken = saved; broken["a.exp_avg"] = Tensor.zeros([3])
        XCTAssertThrowsError(try opt2.load(stateDict: broken)) {
            XCTAssertEqual($0 as? OptimizerStateError, .shapeMismatch(key: "a.exp_avg", expected: [2], found: [3]))
        }
        broken = saved; broken["b.exp_avg_sq"] = nil
        XCTAssertThrowsError(try opt2.load(stateDict: broken)) {
            XCTAssertEqual($0 as? OptimizerStateError, .missingKey("b.exp_avg_sq"))
        }
        XCTAssertThrowsError(try AdamW(groups: [ParameterGroup([a, param([0], name: "a")], learningRate: 0.1)]))
    }

    func testSGDMomentumMatchesHandComputedSteps() throws {
        let p = param([1.0, -2.0], name: "w")
        let opt = SGD(groups: [ParameterGroup([p], learningRate: 0.1, weightDecay: 0.5)], momentum: 0.9)
        let grads: [[Double]] = [[1, 1], [0.5, -1], [0, 2]]
        var w: [Double] = [1, -2], buf: [Double]? = nil
        for g in grads {
            p.1.grad = Tensor(shape: [2], data: g.map(Float.init))
            opt.step()
            let d = (0..<2).map { g[$0] + 0.5 * w[$0] }
            buf = buf.map { b in (0..<2).map { 0.9 * b[$0] + d[$0] } } ?? d
            w = (0..<2).map { w[$0] - 0.1 * buf![$0] }
        }
        for i in 0..<2 { XCTAssertEqual(Double(p.1.value.data[i]), w[i], accuracy: 1e-6) }
        XCTAssertEqual(opt.stateDict()["w.momentum_buffer"]!.data.map(Double.init)[1], buf![1], accuracy: 1e-6)
        // Nesterov: d + μ·b.
        let q = param([1.0], name: "q")
        let nes = SGD(groups: [ParameterGroup([q], learningRate: 0.1)], momentum: 0.9, nesterov: true)
        q.1.grad = Tensor(shape: [1], data: [1]); nes.step()   // b = 1, step = 1 + 0.9 = 1.9
        q.1.grad = Tensor(shape: [1], data: [1]); nes.step()   // b = 1.9, step = 1 + 1.71 = 2.71
        XCTAssertEqual(q.1.value.data[0], 1 - 0.19 - 0.271, accuracy: 1e-6)
    }

    func testCosineScheduleWithWarmup() {
        let s = CosineSchedule(warmupSteps: 10, totalSteps: 110)
        XCTAssertEqual(s.multiplier(at: 0), 0)
        XCTAssertEqual(s.multiplier(at: 5), 0.5, accuracy: 1e-7)
        XCTAssertEqual(s.multiplier(at: 10), 1, accuracy: 1e-7)
        XCTAssertEqual(s.multiplier(at: 60), 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.multiplier(at: 35), Float(0.5 * (1 + Foundation.cos(Double.pi * 0.25))), accuracy: 1e-6)
        XCTAssertEqual(s.multiplier(at: 110), 0, accuracy: 1e-7)
        XCTAssertEqual(s.multiplier(at: 500), 0, accuracy: 1e-7)
        let f = CosineSchedule(warmupSteps: 0, totalSteps: 100, floor: 0.1)
        XCTAssertEqual(f.multiplier(at: 0), 1, accuracy: 1e-7)
        XCTAssertEqual(f.multiplier(at: 100), 0.1, accuracy: 1e-7)
    }

    func testGlobalGradientNormClipping() {
        let a = Variable(Tensor.zeros([2]), requiresGrad: true), b = Variable(Tensor.zeros([1]), requiresGrad: true)
        let c = Variable(Tensor.zeros([1]), requiresGrad: true)   // no gradient: ignored
        a.grad = Tensor(shape: [2], data: [3, 0]); b.grad = Tensor(shape: [1], data: [4])
        let n = clipGradientNorm([a, b, c], maxNorm: 1)
        XCTAssertEqual(n, 5, accuracy: 1e-6)
        XCTAssertEqual(a.grad!.data[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(b.grad!.data[0], 0.8, accuracy: 1e-6)
        XCTAssertNil(c.grad)
        // Below the bound: unchanged.
        XCTAssertEqual(clipGradientNorm([a, b], maxNorm: 10), 1, accuracy: 1e-5)
        XCTAssertEqual(a.grad!.data[0], 0.6, accuracy: 1e-6)
    }
}
