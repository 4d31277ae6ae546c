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
