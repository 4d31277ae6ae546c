import XCTest
import SSMCore
import TestSupport

final class LayerNormOpsTests: XCTestCase {
    var rng = SeededRNG(seed: 15)
    func r(_ shape: [Int], scale: Float = 1) -> Tensor { TestSupport.randomTensor(shape, scale: scale, rng: &rng) }

    /// Slow reference over axis `ax` of a rank-3 tensor, in Double.
    func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor, axis ax: Int, eps: Double = 1e-5) -> Tensor {
        let s = x.shape
        let outer = s[..<ax].reduce(1, *), n = s[ax], inner = s[(ax + 1)...].reduce(1, *)
        var y = [Float](repeating: 0, count: x.count)
        for a in 0..<outer { for j in 0..<inner {
            let idx = (0..<n).map { (a * n + $0) * inner + j }
            let mu = idx.reduce(0.0) { $0 + Double(x.data[$1]) } / Double(n)
            let v = idx.reduce(0.0) { let d = Double(x.data[$1]) - mu; return $0 + d * d } / Double(n)
            for (k, i) in idx.enumerated() {
                y[i] = Float((Double(x.data[i]) - mu) / (v + eps).squareRoot() * Double(w.data[k]) + Double(b.data[k]))
            }
        } }
        return Tensor(shape: s, data: y)
    }

    func testForwardLastAxisAndChannelAxis() {
        let x = r([2, 3, 8], scale: 3) + 1
        let w8 = r([8]), b8 = r([8]), w3 = r([3]), b3 = r([3])
        assertClose(layerNorm(Variable(x), weight: Variable(w8), bias: Variable(b8)).value, reference(x, w8, b8, axis: 2), atol: 1e-5)
        assertClose(layerNorm(Variable(x), weight: Variable(w3), bias: Variable(b3), axis: 1).value, reference(x, w3, b3, axis: 1), atol: 1e-5)
        // Channel axis = last axis after moving channels last.
        let viaLast = layerNorm(Variable(x.permuted([0, 2, 1])), weight: Variable(w3), bias: Variable(b3)).value.permuted([0, 2, 1])
        assertClose(layerNorm(Variable(x), weight: Variable(w3), bias: Variable(b3), axis: 1).value, viaLast, atol: 1e-5)
    }

    func testForwardLargeTensorUsesParallelPathConsistently() {
        let x = r([4, 16, 1024])
        let w = r([16]), b = r([16])
        assertClose(layerNorm(Variable(x), weight: Variable(w), bias: Variable(b), axis: 1).value, reference(x, w, b, axis: 1), atol: 2e-5)
    }

    func testParallelBackwardEqualsPerBatchSerialBackward() {
        // (4, 16, 1024) takes the chunked path; each (1, 16, 1024) slice the serial one.
        let x = r([4, 16, 1024]), g = r([4, 16, 1024])
        let w = Variable(r([16]), requiresGrad: true), b = Variable(r([16]), requiresGrad: true)
        let xv = Variable(x, requiresGrad: true)
        layerNorm(xv, weight: w, bias: b, axis: 1).backward(g)
        var gw = Tensor.zeros([16]), gb = Tensor.zeros([16])
        for i in 0..<4 {
            let w1 = Variable(w.value, requiresGrad: true), b1 = Variable(b.value, requiresGrad: true)
            let x1 = Variable(x.slice(axis: 0, i..<(i + 1)), requiresGrad: true)
            layerNorm(x1, weight: w1, bias: b1, axis: 1).backward(g.slice(axis: 0, i..<(i + 1)))
            assertClose(xv.grad!.slice(axis: 0, i..<(i + 1)), x1.grad!, atol: 1e-5)
            gw.add(w1.grad!); gb.add(b1.grad!)
        }
        assertClose(w.grad!, gw, atol: 1e-3)
        assertClose(b.grad!, gb, atol: 1e-3)
    }

    /// Slow reference of the backward pass over axis `ax` of a rank-3 tensor, in Double:
    /// `∂x = r(ĝ − mean ĝ − x̂ mean(ĝ x̂))` with `ĝ = g w`, `∂w = Σ g x̂`, `∂b = Σ g`.
    func referenceBackward(_ x: Tensor, _ g: Tensor, _ w: Tensor, axis ax: Int, eps: Double = 1e-5) -> (Tensor, Tensor, Tensor) {
        let s = x.shape
        let outer = s[..<ax].reduce(1, *), n = s[ax], inner = s[(ax + 1)...].reduce(1, *)
        var gx = [Float](repeating: 0, count: x.count), gw = [Double](repeating: 0, count: n), gb = gw
        for a in 0..<outer { for j in 0..<inner {
            let idx = (0..<n).map { (a * n + $0) * inner + j }
            let mu = idx.reduce(0.0) { $0 + Double(x.data[$1]) } / Double(n)
            let v = idx.reduce(0.0) { let d = Double(x.data[$1]) - mu; return $0 + d * d } / Double(n)
            let rs = 1 / (v + eps).squareRoot()
            let xh = idx.map { (Double(x.data[$0]) - mu) * rs }
            let gh = idx.enumerated().map { Double(g.data[$0.element]) * Double(w.data[$0.offset]) }
            let m1 = gh.reduce(0, +) / Double(n), m2 = zip(gh, xh).reduce(0.0) { $0 + $1.0 * $1.1 } / Double(n)
            for (k, i) in idx.enumerated() {
                gx[i] = Float(rs * (gh[k] - m1 - xh[k] * m2))
                gw[k] += Double(g.data[i]) * xh[k]
                gb[k] += Double(g.data[i])
            }
        } }
        return (Tensor(shape: s, data: gx), Tensor(shape: [n], data: gw.map(Float.init)), Tensor(shape: [n], data: gb.map(Float.init)))
    }

    /// The S4ND layout: one `(1, C, N)` tensor normalised over channels, cut into pixel blocks
    /// (2,500 = 4 full blocks of 512 and a partial one) spread over the workers.
    func testChannelNormOfOneWideTensorMatchesReference() {
        let x = r([1, 16, 2500], scale: 2) + 0.5, g = r([1, 16, 2500])
        let w = Variable(r([16]), requiresGrad: true), b = Variable(r([16]), requiresGrad: true)
        let xv = Variable(x, requiresGrad: true)
        let y = layerNorm(xv, weight: w, bias: b, axis: 1)
        assertClose(y.value, reference(x, w.value, b.value, axis: 1), atol: 2e-5)
        y.backward(g)
        let (gx, gw, gb) = referenceBackward(x, g, w.value, axis: 1)
        assertClose(xv.grad!, gx, atol: 2e-5)
        assertClose(w.grad!, gw, atol: 2e-3)
        assertClose(b.grad!, gb, atol: 2e-3)
    }

    func testLastAxisBackwardMatchesReference() {
        let x = r([300, 40], scale: 3), g = r([300, 40])
        let w = Variable(r([40]), requiresGrad: true), b = Variable(r([40]), requiresGrad: true)
        let xv = Variable(x, requiresGrad: true)
        let x3 = x.reshaped([300, 40, 1])
        assertClose(layerNorm(xv, weight: w, bias: b).value.reshaped([300, 40, 1]), reference(x3, w.value, b.value, axis: 1), atol: 2e-5)
        layerNorm(xv, weight: w, bias: b).backward(g)
        let (gx, gw, gb) = referenceBackward(x3, g.reshaped([300, 40, 1]), w.value, axis: 1)
        assertClose(xv.grad!.reshaped([300, 40, 1]), gx, atol: 2e-5)
        assertClose(w.grad!, gw, atol: 2e-3)
        assertClose(b.grad!, gb, atol: 2e-3)
    }

    func testGradientsLastAxis() {
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 6]), r([6]), r([6])], eps: 1e-2, atol: 1e-2, rtol: 1e-2) { v in
            layerNorm(v[0], weight: v[1], bias: v[2])
        }
    }

    func testGradientsChannelAxis() {
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 4, 3, 2]), r([4]), r([4])], eps: 1e-2, atol: 1e-2, rtol: 1e-2) { v in
            layerNorm(v[0], weight: v[1], bias: v[2], axis: 1)
        }
    }

    func testLayerNormLayerDefaults() {
        let ln = LayerNorm(4, axis: 1)
        XCTAssertEqual(ln.namedParameters.map { $0.0 }, ["weight", "bias"])
        let y = ln(Variable(r([2, 4, 5], scale: 4) + 3)).value
        // Unit weight, zero bias: each channel vector has mean 0 and variance ≈ 1.
        for b in 0..<2 { for l in 0..<5 {
            let v = (0..<4).map { Double(y.data[(b * 4 + $0) * 5 + l]) }
            XCTAssertEqual(v.reduce(0, +) / 4, 0, accuracy: 1e-5)
            XCTAssertEqual(v.map { $0 * $0 }.reduce(0, +) / 4, 1, accuracy: 1e-3)
        } }
    }
}

final class ScalarLayerNormTests: XCTestCase {
    var rng = SeededRNG(seed: 16)
    func r(_ shape: [Int], scale: Float = 1) -> Tensor { TestSupport.randomTensor(shape, scale: scale, rng: &rng) }

    func testForwardMatchesReference() {
        let x = r([2, 5, 3, 2], scale: 2) + 0.5
        let m: Float = 0.3, s: Float = 1.7
        let y = scalarLayerNorm(Variable(x), shift: Variable(Tensor(shape: [1], data: [m])), scale: Variable(Tensor(shape: [1], data: [s]))).value
        for b in 0..<2 { for l in 0..<6 {
            let idx = (0..<5).map { (b * 5 + $0) * 6 + l }
            let mu = idx.reduce(0.0) { $0 + Double(x.data[$1]) } / 5
            let sd = (idx.reduce(0.0) { let d = Double(x.data[$1]) - mu; return $0 + d * d } / 5).squareRoot()
            for i in idx { XCTAssertEqual(Double(y.data[i]), Double(s) / sd * (Double(x.data[i]) - mu + Double(m)), accuracy: 1e-5) }
        } }
    }

    func testGradients() {
        let inputs = [r([2, 4, 3]), Tensor(shape: [1], data: [0.4]), Tensor(shape: [1], data: [1.3])]
        assertGradientsMatchFiniteDifferences(inputs: inputs, eps: 1e-2, atol: 1e-2, rtol: 1e-2) { v in
            scalarLayerNorm(v[0], shift: v[1], scale: v[2], axis: 1)
        }
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 6]), Tensor(shape: [1], data: [-0.2]), Tensor(shape: [1], data: [0.8])],
                                              eps: 1e-2, atol: 1e-2, rtol: 1e-2) { v in
            scalarLayerNorm(v[0], shift: v[1], scale: v[2], axis: -1)
        }
    }

    func testParallelPathMatchesPerBatch() {
        let x = r([4, 16, 1024]), g = r([4, 16, 1024])
        let m = Variable(Tensor(shape: [1], data: [0.2]), requiresGrad: true), s = Variable(Tensor(shape: [1], data: [0.9]), requiresGrad: true)
        let xv = Variable(x, requiresGrad: true)
        let y = scalarLayerNorm(xv, shift: m, scale: s)
        y.backward(g)
        var gm: Float = 0, gs: Float = 0
        for i in 0..<4 {
            let m1 = Variable(m.value, requiresGrad: true), s1 = Variable(s.value, requiresGrad: true)
            let x1 = Variable(x.slice(axis: 0, i..<(i + 1)), requiresGrad: true)
            let y1 = scalarLayerNorm(x1, shift: m1, scale: s1)
            assertClose(y.value.slice(axis: 0, i..<(i + 1)), y1.value, atol: 1e-6)
            y1.backward(g.slice(axis: 0, i..<(i + 1)))
            assertClose(xv.grad!.slice(axis: 0, i..<(i + 1)), x1.grad!, atol: 1e-5)
            gm += m1.grad!.scalar; gs += s1.grad!.scalar
        }
        XCTAssertEqual(m.grad!.scalar, gm, accuracy: 1e-2)
        XCTAssertEqual(s.grad!.scalar, gs, accuracy: 1e-2)
    }

    func testLayerNames() {
        XCTAssertEqual(TransposedLayerNorm(8).namedParameters.map { $0.0 }, ["m", "s"])
        XCTAssertEqual(TransposedLayerNorm(8, scalar: false).namedParameters.map { $0.0 }, ["ln.weight", "ln.bias"])
        XCTAssertEqual(TransposedLayerNorm(8)(Variable(r([2, 8, 3]))).shape, [2, 8, 3])
    }
}
