import XCTest
import Foundation
import SSMCore
import TestSupport

final class ExpLogDropoutTests: XCTestCase {
    var rng = SeededRNG(seed: 21)
    func r(_ shape: [Int], scale: Float = 1) -> Tensor { TestSupport.randomTensor(shape, scale: scale, rng: &rng) }

    func testExpLogForwardAndGradients() {
        let x = Tensor(shape: [3], data: [-1, 0.5, 2])
        assertClose(exp(Variable(x)).value, Tensor(shape: [3], data: x.data.map { Foundation.exp($0) }), atol: 1e-6)
        let p = Tensor(shape: [3], data: [0.25, 1, 4])
        assertClose(log(Variable(p)).value, Tensor(shape: [3], data: p.data.map { Foundation.log($0) }), atol: 1e-6)
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 4])], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in exp(v[0]) }
        assertGradientsMatchFiniteDifferences(inputs: [r([3, 4]).map { 0.5 + abs($0) }], eps: 1e-3, atol: 5e-3, rtol: 5e-3) { v in log(v[0]) }
    }

    func testDropoutScalesSurvivorsAndIsSeeded() {
        let x = Tensor(repeating: 1, shape: [20000])
        var r1 = SeededRNG(seed: 3), r2 = SeededRNG(seed: 3)
        let y1 = dropout(Variable(x), p: 0.25, training: true, rng: &r1).value
        let y2 = dropout(Variable(x), p: 0.25, training: true, rng: &r2).value
        XCTAssertEqual(y1, y2)
        XCTAssertTrue(y1.data.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3.0) < 1e-6 })
        let dropped = y1.data.filter { $0 == 0 }.count
        XCTAssertEqual(Double(dropped) / 20000, 0.25, accuracy: 0.015)
        // Expectation preserved.
        XCTAssertEqual(Double(y1.sum()) / 20000, 1, accuracy: 0.03)
    }

    func testDropoutIdentityAtEvalAndGradientUsesMask() {
        var g = SeededRNG(seed: 4)
        let v = Variable(r([4, 5]), requiresGrad: true)
        XCTAssertTrue(dropout(v, p: 0.5, training: false, rng: &g) === v)
        let y = dropout(v, p: 0.5, training: true, rng: &g)
        y.sum().backward()
        // ∂y/∂x is the mask: 0 where dropped, 2 where kept — and y = x·mask.
        for i in 0..<20 {
            XCTAssertEqual(v.grad!.data[i] * v.value.data[i], y.value.data[i], accuracy: 1e-6)
            XCTAssertTrue(v.grad!.data[i] == 0 || v.grad!.data[i] == 2)
        }
    }

    func testTiedDropoutSharesMaskAlongTrailingAxes() {
        var g = SeededRNG(seed: 5)
        let y = dropout(Variable(Tensor(repeating: 1, shape: [4, 8, 3, 2])), p: 0.5, training: true, rng: &g, tiedFrom: 2).value
        for bc in 0..<32 {
            let block = y.data[(bc * 6)..<(bc * 6 + 6)]
            XCTAssertEqual(Set(block).count, 1, "mask differs inside channel \(bc)")
        }
        XCTAssertEqual(Set(y.data), [0, 2])
    }
}

final class PadSliceConcatPoolTests: XCTestCase {
    var rng = SeededRNG(seed: 22)
    func r(_ shape: [Int]) -> Tensor { TestSupport.randomTensor(shape, rng: &rng) }

    func testSlicePadConcatForward() {
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(x.slice(axis: 1, 1..<3).data, [2, 3, 5, 6])
        XCTAssertEqual(x.slice(axis: 0, 1..<2).data, [4, 5, 6])
        let p = x.padded(axis: 1, before: 1, after: 2, value: -1)
        XCTAssertEqual(p.shape, [2, 6])
        XCTAssertEqual(p.data, [-1, 1, 2, 3, -1, -1, -1, 4, 5, 6, -1, -1])
        let c = Tensor.concat([x, x.slice(axis: 1, 0..<1)], axis: -1)
        XCTAssertEqual(c.data, [1, 2, 3, 1, 4, 5, 6, 4])
        XCTAssertEqual(Tensor.concat([x, x], axis: 0).data, x.data + x.data)
        XCTAssertEqual(p.slice(axis: 1, 1..<4), x)
    }

    func testSlicePadConcatGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 5, 3])]) { v in v[0].slice(axis: 1, 1..<4) }
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 5, 3])]) { v in v[0].padded(axis: -1, before: 2, after: 1) }
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 2, 3]), r([2, 4, 3])]) { v in concat([v[0], v[1]], axis: 1) * 1.5 }
    }

    func testAvgPoolForwardMatchesLoops() {
        // 2-D pooling with a remainder dropped on the last axis.
        let x = r([2, 3, 4, 7])
        let y = avgPool(Variable(x), kernel: [2, 3]).value
        XCTAssertEqual(y.shape, [2, 3, 2, 2])
        for bc in 0..<6 { for i in 0..<2 { for j in 0..<2 {
            var s = 0.0
            for a in 0..<2 { for b in 0..<3 { s += Double(x.data[bc * 28 + (i * 2 + a) * 7 + j * 3 + b]) } }
            XCTAssertEqual(y.data[bc * 4 + i * 2 + j], Float(s / 6), accuracy: 1e-6)
        } } }
        let y1 = avgPool(Variable(x), kernel: [7]).value
        XCTAssertEqual(y1.shape, [2, 3, 4, 1])
        XCTAssertEqual(y1.data[5], x.data[35..<42].reduce(0, +) / 7, accuracy: 1e-6)
    }

    func testAvgPoolGradients() {
        assertGradientsMatchFiniteDifferences(inputs: [r([2, 2, 8])]) { v in avgPool(v[0], kernel: [4]) }
        assertGradientsMatchFiniteDifferences(inputs: [r([1, 2, 4, 5, 3])]) { v in avgPool(v[0], kernel: [2, 2, 3]) }
    }
}

final class EmbeddingCrossEntropyTests: XCTestCase {
    var rng = SeededRNG(seed: 23)
    func r(_ shape: [Int], scale: Float = 1) -> Tensor { TestSupport.randomTensor(shape, scale: scale, rng: &rng) }

    func testEmbeddingLooksUpRowsAndScattersGradients() throws {
        let w = r([5, 3])
        let y = try embedding([4, 0, 4], shape: [1, 3], weight: Variable(w)).value
        XCTAssertEqual(y.shape, [1, 3, 3])
        XCTAssertEqual(Array(y.data[0..<3]), Array(w.data[12..<15]))
        XCTAssertEqual(Array(y.data[3..<6]), Array(w.data[0..<3]))
        assertGradientsMatchFiniteDifferences(inputs: [w]) { v in try! embedding([4, 0, 4, 2], shape: [2, 2], weight: v[0]) }
    }

    func testEmbeddingRejectsBadIndices() {
        let w = Variable(r([5, 3]))
        XCTAssertThrowsError(try embedding([1, 5], shape: [2], weight: w)) {
            XCTAssertEqual($0 as? OpError, .indexOutOfRange(op: "embedding", index: 5, position: 1, limit: 5))
        }
        XCTAssertThrowsError(try embedding([1, -1], shape: [2], weight: w))
        XCTAssertThrowsError(try embedding([1], shape: [2], weight: w)) {
            XCTAssertEqual($0 as? OpError, .countMismatch(op: "embedding", expected: 2, found: 1))
        }
        var g = SeededRNG(seed: 1)
        let e = Embedding(256, 4, rng: &g)
        XCTAssertEqual(e.namedParameters.map { $0.0 }, ["weight"])
        XCTAssertEqual(try e([255, 0], shape: [2]).shape, [2, 4])
    }

    func testCrossEntropyMatchesDoubleReference() throws {
        let z = r([2, 3, 5], scale: 3), labels = [0, 4, 2, 2, 1, 3]
        let (loss, probs) = try softmaxCrossEntropy(logits: Variable(z), labels: labels)
        var ref = 0.0
        for row in 0..<6 {
            let zs = (0..<5).map { Double(z.data[row * 5 + $0]) }
            let lse = Foundation.log(zs.map { Foundation.exp($0) }.reduce(0, +))
            ref += lse - zs[labels[row]]
            for k in 0..<5 { XCTAssertEqual(Double(probs.data[row * 5 + k]), Foundation.exp(zs[k] - lse), accuracy: 1e-6) }
        }
        XCTAssertEqual(Double(loss.value.scalar), ref / 6, accuracy: 1e-5)
        // Stable for huge logit gaps (no inf/NaN).
        let (big, _) = try softmaxCrossEntropy(logits: Variable(Tensor(shape: [1, 2], data: [1000, -1000])), labels: [1])
        XCTAssertEqual(big.value.scalar, 2000, accuracy: 1e-2)
    }

    func testCrossEntropyGradient() {
        let labels = [1, 0, 3, 3]
        assertGradientsMatchFiniteDifferences(inputs: [r([4, 5], scale: 2)], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in
            try! softmaxCrossEntropy(logits: v[0], labels: labels).loss
        }
    }

    func testCrossEntropyRejectsBadLabels() {
        let z = Variable(r([2, 3]))
        XCTAssertThrowsError(try softmaxCrossEntropy(logits: z, labels: [0, 3])) {
            XCTAssertEqual($0 as? OpError, .indexOutOfRange(op: "softmaxCrossEntropy", index: 3, position: 1, limit: 3))
        }
        XCTAssertThrowsError(try softmaxCrossEntropy(logits: z, labels: [0]))
    }
}
