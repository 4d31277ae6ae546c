import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// Mamba's selective scan against a slow loop and finite differences, the block's gradients, and
/// step ≡ scan.
final class MambaTests: XCTestCase {
    func testSelectiveScanMatchesSlowLoopAndFiniteDifferences() {
        var rng = SeededRNG(seed: 1)
        let (B, E, N, L) = (2, 3, 2, 9)
        let u = TestSupport.randomTensor([B, E, L], rng: &rng)
        let delta = Tensor(shape: [B, E, L], data: (0..<(B * E * L)).map { _ in rng.uniform(0.05, 0.5) })
        let a = Tensor(shape: [E, N], data: (0..<(E * N)).map { _ in -rng.uniform(0.5, 2) })
        let b = TestSupport.randomTensor([B, N, L], rng: &rng), c = TestSupport.randomTensor([B, N, L], rng: &rng)
        let y = Autograd.withoutGradients { selectiveScan(u: Variable(u), delta: Variable(delta), a: Variable(a), b: Variable(b), c: Variable(c)).value }
        let expected = Self.slowSelectiveScan(u: u, delta: delta, a: a, b: b, c: c)
        for i in 0..<expected.count { XCTAssertEqual(Double(y.data[i]), expected[i], accuracy: 1e-5) }
        assertGradientsMatchFiniteDifferences(inputs: [u, delta, a, b, c], eps: 1e-3, atol: 2e-3, rtol: 2e-3) { v in
            selectiveScan(u: v[0], delta: v[1], a: v[2], b: v[3], c: v[4])
        }
    }

    /// The selective scan in Double, state by state: `u, Δ (S, E, L)`, `A (E, N)`, `B, C (S, N, L)` → `y (S, E, L)`.
    static func slowSelectiveScan(u: Tensor, delta: Tensor, a: Tensor, b: Tensor, c: Tensor) -> [Double] {
        let (S, E, L, N) = (u.shape[0], u.shape[1], u.shape[2], a.shape[1])
        var y = [Double](repeating: 0, count: S * E * L)
        for s in 0..<S { for e in 0..<E {
            var h = [Double](repeating: 0, count: N)
            for t in 0..<L {
                let i = (s * E + e) * L + t
                for k in 0..<N {
                    let j = (s * N + k) * L + t
                    h[k] = exp(Double(delta.data[i]) * Double(a.data[e * N + k])) * h[k] + Double(delta.data[i]) * Double(b.data[j]) * Double(u.data[i])
                    y[i] += Double(c.data[j]) * h[k]
                }
            }
        }}
        return y
    }

    func testBlockGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 2)
        let m = MambaBlock(features: 4, stateSize: 3, convWidth: 3, expand: 2, rng: &rng)
        let u = TestSupport.randomTensor([1, 4, 7], rng: &rng), w = TestSupport.randomTensor([1, 4, 7], rng: &rng)
        func loss() -> Double {
            let o = Autograd.withoutGradients { m.forward(Variable(u), rate: 1).value }
            return zip(o.data, w.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        m.forward(Variable(u), rate: 1).backward(w)
        assertParameterGradientsMatchFiniteDifferences(m.namedParameters, samples: 4, label: "Mamba", loss: loss)
    }

    func testStepModeMatchesTheScan() {
        var rng = SeededRNG(seed: 3)
        let m = MambaBlock(features: 8, stateSize: 4, rng: &rng)
        let x = TestSupport.randomTensor([2, 8, 300], rng: &rng)
        let scan = Autograd.withoutGradients { m.forward(Variable(x), rate: 1).value }
        assertClose(m.stepThrough(x), scan, atol: 1e-4)
        XCTAssertEqual(m.namedParameters.first { $0.0 == "A_log" }?.1.role, .noDecay)
    }
}
