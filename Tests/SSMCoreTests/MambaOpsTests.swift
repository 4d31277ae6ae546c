import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// The fused ops of the Mamba block against the compositions of unfused ops they replace (values
/// and gradients) and against finite differences, and the block built from them against the
/// block built from unfused ops.
final class MambaOpsTests: XCTestCase {
    /// Gradients of `inputs` after `f(inputs).backward(seed)`, for comparing two graphs.
    func gradients(_ inputs: [Variable], seed: Tensor, _ f: () -> Variable) -> [Tensor] {
        for v in inputs { v.zeroGrad() }
        f().backward(seed)
        return inputs.map { $0.grad ?? Tensor.zeros($0.shape) }
    }

    /// The causal depthwise conv + bias + SiLU as the block used to build it: zero padding,
    /// shifted slices times each tap, and `x·σ(x)`.
    func unfusedConvSiLU(_ x: Variable, _ w: Variable, _ b: Variable) -> Variable {
        let (E, L, W) = (x.shape[0], x.shape[2], w.shape[2])
        let padded = x.padded(axis: 2, before: W - 1, after: 0)
        var conv = b.reshaped([E, 1, 1]) + padded.slice(axis: 2, 0..<L) * w.slice(axis: 2, 0..<1).reshaped([E, 1, 1])
        for k in 1..<W { conv = conv + padded.slice(axis: 2, k..<(k + L)) * w.slice(axis: 2, k..<(k + 1)).reshaped([E, 1, 1]) }
        return conv * sigmoid(conv)
    }

    func testCausalConvSiLUMatchesUnfusedOps() {
        var rng = SeededRNG(seed: 11)
        // Rows longer than a vector (19), shorter than the taps (2), and a width other than 4.
        for (E, S, L, W) in [(3, 4, 19, 4), (2, 3, 2, 4), (4, 2, 9, 3)] {
            let x = Variable(TestSupport.randomTensor([E, S, L], scale: 2, rng: &rng), requiresGrad: true)
            let w = Variable(TestSupport.randomTensor([E, 1, W], rng: &rng), requiresGrad: true)
            let b = Variable(TestSupport.randomTensor([E], rng: &rng), requiresGrad: true)
            let fused = causalConvSiLU(x, weight: w, bias: b), reference = unfusedConvSiLU(x, w, b)
            assertClose(fused.value, reference.value, atol: 1e-6, rtol: 1e-6, "values, L = \(L)")
            let seed = TestSupport.randomTensor(fused.shape, rng: &rng)
            let got = gradients([x, w, b], seed: seed) { causalConvSiLU(x, weight: w, bias: b) }
            let want = gradients([x, w, b], seed: seed) { unfusedConvSiLU(x, w, b) }
            for (k, name) in ["x", "weight", "bias"].enumerated() {
                assertClose(got[k], want[k], atol: 1e-5, rtol: 1e-5, "∂\(name), L = \(L)")
            }
            // Without recording, the same values (the pre-activations are not kept).
            let inference = Autograd.withoutGradients { causalConvSiLU(x, weight: w, bias: b) }
            XCTAssertFalse(inference.requiresGrad)
            XCTAssertEqual(inference.value.data, fused.value.data)
        }
    }

    func testCausalConvSiLUGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 12)
        let x = TestSupport.randomTensor([2, 3, 11], rng: &rng), w = TestSupport.randomTensor([2, 1, 4], rng: &rng)
        let b = TestSupport.randomTensor([2], rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [x, w, b], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in
            causalConvSiLU(v[0], weight: v[1], bias: v[2])
        }
    }

    func testScaledSoftplusMatchesSoftplusTimesScale() {
        var rng = SeededRNG(seed: 13)
        let x = Variable(TestSupport.randomTensor([3, 5, 7], scale: 4, rng: &rng), requiresGrad: true)
        for scale: Float in [1, 0.5, 2.25] {
            let fused = softplus(x, scale: scale)
            let reference = scale == 1 ? softplus(x) : softplus(x) * scale
            assertClose(fused.value, reference.value, atol: 1e-6, rtol: 1e-6, "values, scale \(scale)")
            if scale == 1 { XCTAssertEqual(fused.value.data, reference.value.data) }
            let seed = TestSupport.randomTensor(x.shape, rng: &rng)
            let got = gradients([x], seed: seed) { softplus(x, scale: scale) }
            let want = gradients([x], seed: seed) { scale == 1 ? softplus(x) : softplus(x) * scale }
            assertClose(got[0], want[0], atol: 1e-6, rtol: 1e-6, "∂x, scale \(scale)")
        }
        let t = TestSupport.randomTensor([2, 9], scale: 3, rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [t], eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in softplus(v[0], scale: 0.7) }
    }

    func unfusedGate(_ y: Variable, _ x: Variable, _ d: Variable, _ z: Variable) -> Variable {
        let E = y.shape[0]
        return (y + x * d.reshaped([E, 1, 1])) * (z * sigmoid(z))
    }

    func testMambaGateMatchesUnfusedOps() {
        var rng = SeededRNG(seed: 14)
        // Channel runs of 22: a vector body and a remainder.
        let shape = [3, 2, 11]
        let y = Variable(TestSupport.randomTensor(shape, rng: &rng), requiresGrad: true)
        let x = Variable(TestSupport.randomTensor(shape, rng: &rng), requiresGrad: true)
        let z = Variable(TestSupport.randomTensor(shape, scale: 3, rng: &rng), requiresGrad: true)
        let d = Variable(TestSupport.randomTensor([3], rng: &rng), requiresGrad: true)
        assertClose(mambaGate(y, x, d: d, z: z).value, unfusedGate(y, x, d, z).value, atol: 1e-6, rtol: 1e-6)
        let seed = TestSupport.randomTensor(shape, rng: &rng)
        let got = gradients([y, x, d, z], seed: seed) { mambaGate(y, x, d: d, z: z) }
        let want = gradients([y, x, d, z], seed: seed) { unfusedGate(y, x, d, z) }
        for (k, name) in ["y", "x", "D", "z"].enumerated() { assertClose(got[k], want[k], atol: 1e-5, rtol: 1e-5, "∂\(name)") }
    }

    func testMambaGateGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 15)
        let shape = [2, 3, 4]
        let inputs = [TestSupport.randomTensor(shape, rng: &rng), TestSupport.randomTensor(shape, rng: &rng),
                      TestSupport.randomTensor([2], rng: &rng), TestSupport.randomTensor(shape, scale: 2, rng: &rng)]
        assertGradientsMatchFiniteDifferences(inputs: inputs, eps: 1e-2, atol: 5e-3, rtol: 5e-3) { v in
            mambaGate(v[0], v[1], d: v[2], z: v[3])
        }
    }

    /// Scan inputs with sequences split between parallel pieces (35 rows) and state counts of a
    /// full vector block, a block and a remainder, and a remainder only.
    func scanInputs(S: Int, E: Int, N: Int, L: Int, rng: inout SeededRNG) -> (u: Tensor, delta: Tensor, a: Tensor, b: Tensor, c: Tensor) {
        let u = TestSupport.randomTensor([S, E, L], rng: &rng)
        let delta = Tensor(shape: [S, E, L], data: (0..<(S * E * L)).map { _ in rng.uniform(0.05, 0.5) })
        let a = Tensor(shape: [E, N], data: (0..<(E * N)).map { _ in -rng.uniform(0.5, 2) })
        return (u, delta, a, TestSupport.randomTensor([S, N, L], rng: &rng), TestSupport.randomTensor([S, N, L], rng: &rng))
    }

    func testSelectiveScanMatchesSlowLoopForEveryStateBlock() {
        var rng = SeededRNG(seed: 16)
        let (S, E, L) = (5, 7, 9)
        for N in [8, 11, 3] {
            let (u, delta, a, b, c) = scanInputs(S: S, E: E, N: N, L: L, rng: &rng)
            let y = Autograd.withoutGradients { selectiveScan(u: Variable(u), delta: Variable(delta), a: Variable(a), b: Variable(b), c: Variable(c)).value }
            let expected = MambaTests.slowSelectiveScan(u: u, delta: delta, a: a, b: b, c: c)
            for i in 0..<expected.count { XCTAssertEqual(Double(y.data[i]), expected[i], accuracy: 1e-5, "N = \(N)") }
        }
        // Gradients with a block and a remainder of states and pieces that share sequences.
        let (u, delta, a, b, c) = scanInputs(S: 5, E: 7, N: 11, L: 6, rng: &rng)
        assertGradientsMatchFiniteDifferences(inputs: [u, delta, a, b, c], eps: 1e-3, atol: 2e-3, rtol: 2e-3) { v in
            selectiveScan(u: v[0], delta: v[1], a: v[2], b: v[3], c: v[4])
        }
    }

    func testChannelFirstScanMatchesTheSequenceMajorOne() {
        var rng = SeededRNG(seed: 17)
        for N in [8, 11, 3] {
            let (u, delta, a, b, c) = scanInputs(S: 5, E: 7, N: N, L: 9, rng: &rng)
            let vars = [u, delta, a, b, c].map { Variable($0, requiresGrad: true) }
            let swap = [1, 0, 2]
            func sequenceMajor() -> Variable { selectiveScan(u: vars[0], delta: vars[1], a: vars[2], b: vars[3], c: vars[4]) }
            func channelFirst() -> Variable {
                selectiveScan(channelsFirst: vars[0].permuted(swap), delta: vars[1].permuted(swap), a: vars[2],
                              b: vars[3].permuted(swap), c: vars[4].permuted(swap)).permuted(swap)
            }
            assertClose(channelFirst().value, sequenceMajor().value, atol: 1e-6, rtol: 1e-6, "N = \(N)")
            let seed = TestSupport.randomTensor(u.shape, rng: &rng)
            let got = gradients(vars, seed: seed, channelFirst), want = gradients(vars, seed: seed, sequenceMajor)
            for k in 0..<5 { assertClose(got[k], want[k], atol: 1e-5, rtol: 1e-5, "input \(k), N = \(N)") }
        }
        let (u, delta, a, b, c) = scanInputs(S: 3, E: 2, N: 3, L: 5, rng: &rng)
        let swap = [1, 0, 2]
        assertGradientsMatchFiniteDifferences(inputs: [u.permuted(swap), delta.permuted(swap), a, b.permuted(swap), c.permuted(swap)],
                                              eps: 1e-3, atol: 2e-3, rtol: 2e-3) { v in
            selectiveScan(channelsFirst: v[0], delta: v[1], a: v[2], b: v[3], c: v[4])
        }
    }

    func testReversedLastMatchesGather() {
        var rng = SeededRNG(seed: 18)
        let x = Variable(TestSupport.randomTensor([3, 4, 7], rng: &rng), requiresGrad: true)
        XCTAssertEqual(x.reversedLast().value.data, x.gatherLast(Array((0..<7).reversed())).value.data)
        let seed = TestSupport.randomTensor(x.shape, rng: &rng)
        let got = gradients([x], seed: seed) { x.reversedLast() }
        let want = gradients([x], seed: seed) { x.gatherLast(Array((0..<7).reversed())) }
        XCTAssertEqual(got[0].data, want[0].data)
    }

    /// The block as it was built from unfused ops: `in_proj` then slices, the padded conv, SiLU as
    /// `x·σ(x)`, softplus then `·rate`, the scan on the sequence-major layout, `+ D⊙x`, `⊙ SiLU(z)`.
    func unfusedBlock(_ m: MambaBlock, _ u: Variable, rate: Float) -> Variable {
        let (e, n, r) = (m.inner, m.stateSize, m.dtRank)
        let xz = m.inProj.channels(u)
        let x0 = xz.slice(axis: 1, 0..<e), z = xz.slice(axis: 1, e..<(2 * e))
        let x = unfusedConvSiLU(x0.permuted([1, 0, 2]), m.convWeight, m.convBias).permuted([1, 0, 2])
        let dbl = m.xProj.channels(x)
        let dtr = dbl.slice(axis: 1, 0..<r), bm = dbl.slice(axis: 1, r..<(r + n)), cm = dbl.slice(axis: 1, (r + n)..<(r + 2 * n))
        var delta = softplus(m.dtProj.channels(dtr))
        if rate != 1 { delta = delta * rate }
        let y = selectiveScan(u: x, delta: delta, a: exp(m.aLog) * -1, b: bm, c: cm) + x * m.d.reshaped([1, e, 1])
        return m.outProj.channels(y * (z * sigmoid(z)))
    }

    func testBlockMatchesTheUnfusedBlock() {
        var rng = SeededRNG(seed: 19)
        let m = MambaBlock(features: 6, stateSize: 8, rng: &rng)
        let params = m.namedParameters.map(\.1)
        let u = Variable(TestSupport.randomTensor([3, 6, 13], rng: &rng), requiresGrad: true)
        for rate: Float in [1, 0.5] {
            let fused = m.forward(u, rate: rate), reference = unfusedBlock(m, u, rate: rate)
            assertClose(fused.value, reference.value, atol: 1e-5, rtol: 1e-5, "values, rate \(rate)")
            let seed = TestSupport.randomTensor(fused.shape, rng: &rng)
            let got = gradients(params + [u], seed: seed) { m.forward(u, rate: rate) }
            let want = gradients(params + [u], seed: seed) { unfusedBlock(m, u, rate: rate) }
            let names = m.namedParameters.map(\.0) + ["input"]
            for k in 0..<names.count { assertClose(got[k], want[k], atol: 1e-5, rtol: 1e-4, "∂\(names[k]), rate \(rate)") }
        }
    }

    func testChannelFirstForwardsMatchTheSequenceMajorOnes() {
        var rng = SeededRNG(seed: 20)
        let f = MambaBlock(features: 4, stateSize: 8, rng: &rng), b = MambaBlock(features: 4, stateSize: 8, rng: &rng)
        let bi = BidirectionalLayer(forward: f, backward: b)
        XCTAssertTrue(bi.runsChannelsFirst)
        let x = TestSupport.randomTensor([4, 5, 10], rng: &rng)      // (H, S, L)
        let swap = [1, 0, 2]
        for layer in [f as any ChannelsFirstSequenceLayer, bi] {
            let cf = Autograd.withoutGradients { layer.forward(channelsFirst: Variable(x), rate: 0.5).value }
            let sm = Autograd.withoutGradients { layer.forward(Variable(x.permuted(swap)), rate: 0.5).value }
            assertClose(cf, sm.permuted(swap), atol: 1e-6, rtol: 1e-6)
        }
    }
}
