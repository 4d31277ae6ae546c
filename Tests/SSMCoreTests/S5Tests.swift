import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// S5: the parallel scan against a plain loop and finite differences, step ≡ scan, and the
/// HiPPO-N initialisation against the authors' stored eigenvalues.
final class S5Tests: XCTestCase {
    func testParallelScanMatchesSequentialLoopBothDirections() {
        var rng = SeededRNG(seed: 1)
        let (B, P, L) = (2, 3, 300)                      // long enough for one chunk per core
        let ar = Tensor(shape: [P], data: (0..<P).map { _ in rng.uniform(0.8, 0.99) })
        let ai = TestSupport.randomTensor([P], scale: 0.1, rng: &rng)
        let br = TestSupport.randomTensor([B, P, L], rng: &rng), bi = TestSupport.randomTensor([B, P, L], rng: &rng)
        for reverse in [false, true] {
            let x = Autograd.withoutGradients {
                diagonalScan(ComplexVariable(re: Variable(ar), im: Variable(ai)), ComplexVariable(re: Variable(br), im: Variable(bi)), reverse: reverse)
            }
            for b in 0..<B { for p in 0..<P {
                var (sr, si) = (0.0, 0.0)
                for t in 0..<L {
                    let k = reverse ? L - 1 - t : t, i = (b * P + p) * L + k
                    (sr, si) = (Double(ar.data[p]) * sr - Double(ai.data[p]) * si + Double(br.data[i]),
                                Double(ar.data[p]) * si + Double(ai.data[p]) * sr + Double(bi.data[i]))
                    XCTAssertEqual(Double(x.re.value.data[i]), sr, accuracy: 1e-4 * max(1, abs(sr)))
                    XCTAssertEqual(Double(x.im.value.data[i]), si, accuracy: 1e-4 * max(1, abs(si)))
                }
            }}
        }
    }

    func testScanGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 2)
        let ar = Tensor(shape: [2], data: [0.9, 0.7]), ai = Tensor(shape: [2], data: [0.2, -0.3])
        let br = TestSupport.randomTensor([1, 2, 7], rng: &rng), bi = TestSupport.randomTensor([1, 2, 7], rng: &rng)
        for reverse in [false, true] {
            assertGradientsMatchFiniteDifferences(inputs: [ar, ai, br, bi], eps: 1e-3, atol: 3e-3, rtol: 3e-3) { v in
                let x = diagonalScan(ComplexVariable(re: v[0], im: v[1]), ComplexVariable(re: v[2], im: v[3]), reverse: reverse)
                return concat([x.re, x.im], axis: 0)
            }
        }
    }

    func testStepModeMatchesTheScan() {
        for disc in [Discretization.zoh, .bilinear] {
            var rng = SeededRNG(seed: 3)
            let layer = S5Layer(features: 4, modes: 6, discretization: disc, rng: &rng)
            let x = TestSupport.randomTensor([2, 4, 200], rng: &rng)
            let scan = Autograd.withoutGradients { layer.forward(Variable(x), rate: 1).value }
            assertClose(layer.stepThrough(x), scan, atol: 1e-4, "\(disc)")
        }
    }

    func testLayerGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 4)
        let layer = S5Layer(features: 2, modes: 3, discretization: .zoh, bidirectional: true, rng: &rng)
        let u = TestSupport.randomTensor([1, 2, 6], rng: &rng)
        let w = TestSupport.randomTensor([1, 2, 6], rng: &rng)
        func loss() -> Double {
            let o = Autograd.withoutGradients { layer.forward(Variable(u), rate: 1).value }
            return zip(o.data, w.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        layer.forward(Variable(u), rate: 1).backward(w)
        assertParameterGradientsMatchFiniteDifferences(layer.namedParameters, label: "S5", loss: loss)
    }

    /// The authors' Λ in the fixture is the first half of the HiPPO-N(16) eigenvalues.
    func testHiPPONInitialisationMatchesTheAuthorsEigenvalues() throws {
        let url = TestSupport.kernelFixturesDirectory.appendingPathComponent("s5_ssm.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("no s5_ssm fixture at \(url.path)") }
        let file = try SafeTensors.read(url)
        var rng = SeededRNG(seed: 0)
        let layer = S5Layer(features: 6, modes: 8, rng: &rng)
        assertClose(layer.lambdaIm.value, file.tensors["Lambda_im"]!, atol: 1e-3)
        assertClose(layer.lambdaRe.value, file.tensors["Lambda_re"]!, atol: 1e-5)
    }
}
