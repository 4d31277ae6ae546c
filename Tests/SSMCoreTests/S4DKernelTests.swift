import Foundation
import XCTest
import TestSupport
@testable import SSMCore

/// The S4D kernel op against a direct evaluation of its formula, its gradients against finite
/// differences, the recurrence against the kernel, and the initialisation.
final class S4DKernelTests: XCTestCase {
    struct Params {
        var invDt, aReal, aImag, b, c: Tensor
        var all: [Tensor] { [invDt, aReal, aImag, b, c] }
    }

    /// Random parameters: `H` features, `S` copies, `N` modes, `C` channels, dt around 0.05–0.2.
    static func randomParams(H: Int, S: Int, N: Int, C: Int, perModeDt: Bool = false, seed: UInt64) -> Params {
        var rng = SeededRNG(seed: seed)
        let invDt = Tensor(shape: [H, perModeDt ? N : 1], data: (0..<(H * (perModeDt ? N : 1))).map { _ in rng.uniform(log(0.05), log(0.2)) })
        let aReal = Tensor(shape: [S, N], data: (0..<(S * N)).map { _ in rng.uniform(-1.5, 0.5) })
        let aImag = Tensor(shape: [S, N], data: (0..<(S * N)).map { Float.pi * Float($0 % N) + rng.uniform(0, 0.5) })
        let b = TestSupport.randomTensor([1, S, N, 2], rng: &rng)
        let c = TestSupport.randomTensor([C, H, N, 2], scale: 0.7, rng: &rng)
        return Params(invDt: invDt, aReal: aReal, aImag: aImag, b: b, c: c)
    }

    /// The kernel formula evaluated directly, term by term, in Double.
    static func referenceKernel(_ p: Params, L: Int, rate: Double, disc: Discretization, bandlimit: Double?) -> Tensor {
        let (C, H, N, S) = (p.c.shape[0], p.c.shape[1], p.aReal.shape[1], p.aReal.shape[0])
        var out = Tensor.zeros([C, H, L])
        for ci in 0..<C { for h in 0..<H { for n in 0..<N {
            let s = h % S
            let ar = -exp(Double(p.aReal.data[s * N + n])), ai = -Double(p.aImag.data[s * N + n])
            let dt = exp(Double(p.invDt.data[p.invDt.shape[1] == 1 ? h : h * N + n])) * rate
            var cr = Double(p.c.data[2 * ((ci * H + h) * N + n)]), cim = Double(p.c.data[2 * ((ci * H + h) * N + n) + 1])
            if let bl = bandlimit, dt / rate * abs(ai) / (2 * Double.pi) >= bl / 2 { cr = 0; cim = 0 }
            let br = Double(p.b.data[2 * (s * N + n)]), bi = Double(p.b.data[2 * (s * N + n) + 1])
            // W = C·B·factor, z = discrete A.
            var wr = cr * br - cim * bi, wi = cr * bi + cim * br
            let qr = dt * ar, qi = dt * ai
            var zr: Double, zi: Double, fr: Double, fi: Double
            if disc == .zoh {
                zr = exp(qr) * cos(qi); zi = exp(qr) * sin(qi)
                let d = ar * ar + ai * ai // (z − 1)/A
                fr = ((zr - 1) * ar + zi * ai) / d; fi = (zi * ar - (zr - 1) * ai) / d
            } else {
                let nr = 1 + qr / 2, ni = qi / 2, mr = 1 - qr / 2, mi = -qi / 2
                let d = mr * mr + mi * mi
                zr = (nr * mr + ni * mi) / d; zi = (ni * mr - nr * mi) / d
                fr = dt * mr / d; fi = -dt * mi / d
            }
            (wr, wi) = (wr * fr - wi * fi, wr * fi + wi * fr)
            var pr = 1.0, pi = 0.0
            for l in 0..<L {
                out.data[(ci * H + h) * L + l] += Float(2 * (wr * pr - wi * pi))
                (pr, pi) = (pr * zr - pi * zi, pr * zi + pi * zr)
            }
        }}}
        return out
    }

    func testForwardMatchesDirectFormula() {
        for (disc, L, rate, bandlimit, C, S) in [(Discretization.zoh, 37, 1.0, nil as Double?, 1, 4),
                                                 (.bilinear, 37, 1.0, nil, 2, 2),
                                                 (.zoh, 64, 0.5, 0.5, 2, 1),
                                                 (.bilinear, 1, 2.0, nil, 1, 4),
                                                 (.zoh, 300, 1.0, nil, 1, 2)] {
            let p = Self.randomParams(H: 4, S: S, N: 5, C: C, seed: UInt64(L))
            let k = s4dKernel(invDt: Variable(p.invDt), aReal: Variable(p.aReal), aImag: Variable(p.aImag),
                              b: Variable(p.b), c: Variable(p.c), length: L, rate: Float(rate),
                              discretization: disc, bandlimit: bandlimit.map { Float($0) })
            XCTAssertEqual(k.shape, [C, 4, L])
            assertClose(k.value, Self.referenceKernel(p, L: L, rate: rate, disc: disc, bandlimit: bandlimit),
                        atol: 2e-5, "\(disc) L=\(L) rate=\(rate) bandlimit=\(String(describing: bandlimit))")
        }
    }

    func testBandlimitZeroesHighFrequencyModes() {
        var p = Self.randomParams(H: 2, S: 2, N: 4, C: 1, seed: 5)
        // dt = 0.1: mode n has frequency 0.1·|A_imag|/2π; a bandlimit of 0.2 keeps |A_imag| < 2π·1.
        p.invDt = Tensor(shape: [2, 1], data: [log(0.1), log(0.1)])
        p.aImag = Tensor(shape: [2, 4], data: [0.5, 3, 9, 20, 1, 5, 40, 60])
        let k = s4dKernel(invDt: Variable(p.invDt), aReal: Variable(p.aReal), aImag: Variable(p.aImag),
                          b: Variable(p.b), c: Variable(p.c), length: 16, discretization: .zoh, bandlimit: 0.2)
        var kept = p
        for h in 0..<2 { for n in 0..<4 where 0.1 * p.aImag.data[h * 4 + n] / (2 * .pi) >= 0.1 {
            kept.c.data[2 * (h * 4 + n)] = 0; kept.c.data[2 * (h * 4 + n) + 1] = 0
        }}
        XCTAssertNotEqual(kept.c, p.c)
        assertClose(k.value, Self.referenceKernel(kept, L: 16, rate: 1, disc: .zoh, bandlimit: nil), atol: 2e-5)
    }

    func testGradientsZOH() {
        let p = Self.randomParams(H: 4, S: 2, N: 3, C: 2, seed: 21)
        assertGradientsMatchFiniteDifferences(inputs: p.all, eps: 1e-3) { v in
            s4dKernel(invDt: v[0], aReal: v[1], aImag: v[2], b: v[3], c: v[4], length: 23, rate: 1, discretization: .zoh)
        }
    }

    func testGradientsBilinearWithRateAndBandlimit() {
        var p = Self.randomParams(H: 3, S: 3, N: 4, C: 1, seed: 22)
        p.aImag.data[3] = 60 // masked for every h at bandlimit 0.5 (dt ≤ 0.2·rate)
        assertGradientsMatchFiniteDifferences(inputs: p.all, eps: 1e-3) { v in
            s4dKernel(invDt: v[0], aReal: v[1], aImag: v[2], b: v[3], c: v[4], length: 19, rate: 0.7,
                      discretization: .bilinear, bandlimit: 0.5)
        }
    }

    func testGradientsPerModeDtAndLongKernel() {
        let p = Self.randomParams(H: 2, S: 1, N: 2, C: 1, perModeDt: true, seed: 23)
        assertGradientsMatchFiniteDifferences(inputs: p.all, eps: 1e-3) { v in
            s4dKernel(invDt: v[0], aReal: v[1], aImag: v[2], b: v[3], c: v[4], length: 150, discretization: .zoh)
        }
    }

    func testRecurrenceImpulseResponseIsTheKernel() {
        for disc in [Discretization.zoh, .bilinear] {
            let p = Self.randomParams(H: 3, S: 3, N: 4, C: 2, seed: 31)
            let k = s4dKernel(invDt: Variable(p.invDt), aReal: Variable(p.aReal), aImag: Variable(p.aImag),
                              b: Variable(p.b), c: Variable(p.c), length: 40, discretization: disc).value
            let sys = s4dDiscreteSystem(invDt: p.invDt, aReal: p.aReal, aImag: p.aImag, b: p.b, c: p.c, discretization: disc)
            var state = sys.defaultState(batch: 1)
            var response = Tensor.zeros([2, 3, 40])
            for t in 0..<40 {
                let y = sys.step(Tensor(shape: [1, 3], data: [Float](repeating: t == 0 ? 1 : 0, count: 3)), state: &state)
                for c in 0..<2 { for h in 0..<3 { response.data[(c * 3 + h) * 40 + t] = y.data[c * 3 + h] } }
            }
            assertClose(response, k, atol: 1e-5, "\(disc)")
        }
    }

    func testInitialisationFollowsTheOfficialFormulas() {
        var rng = SeededRNG(seed: 99)
        let lin = S4DKernel(S4DKernelConfiguration(features: 64, stateSize: 16, dtMin: 0.001, dtMax: 0.1), rng: &rng)
        XCTAssertEqual(lin.namedParameters.map { $0.0 }, ["inv_dt", "C", "B", "A_real", "A_imag"])
        XCTAssertEqual(lin.invDt.shape, [64, 1]); XCTAssertEqual(lin.aReal.shape, [64, 8])
        XCTAssertEqual(lin.b.shape, [1, 64, 8, 2]); XCTAssertEqual(lin.c.shape, [1, 64, 8, 2])
        let dts = lin.invDt.value.data
        XCTAssertTrue(dts.allSatisfy { $0 >= log(0.001) && $0 < log(0.1) })
        XCTAssertEqual(dts.reduce(0, +) / 64, (log(0.001) + log(0.1)) / 2, accuracy: 0.4)
        XCTAssertTrue(lin.aReal.value.data.allSatisfy { abs($0 - log(0.5)) < 1e-7 })
        XCTAssertEqual(Array(lin.aImag.value.data[0..<8]), [1e-4] + (1..<8).map { Float.pi * Float($0) })
        XCTAssertEqual(lin.b.value.data.enumerated().map { $0.offset % 2 == 0 ? 1 : 0 }, lin.b.value.data)
        let cs = lin.c.value.data
        let variance = cs.map { $0 * $0 }.reduce(0, +) / Float(cs.count)
        XCTAssertEqual(variance, 0.5, accuracy: 0.06)

        let inv = S4DKernel(S4DKernelConfiguration(features: 2, stateSize: 8, channels: 2, initialization: .diagInv), rng: &rng)
        let expected = (0..<4).map { Float(8) / .pi * (8 / Float(1 + 2 * $0) - 1) }
        for (a, e) in zip(inv.aImag.value.data[0..<4], expected) { XCTAssertEqual(a, e, accuracy: 1e-4) }
        XCTAssertEqual(inv.c.shape, [2, 2, 4, 2])

        var r1 = SeededRNG(seed: 5), r2 = SeededRNG(seed: 5)
        let k1 = S4DKernel(S4DKernelConfiguration(features: 4, stateSize: 8), rng: &r1)
        let k2 = S4DKernel(S4DKernelConfiguration(features: 4, stateSize: 8), rng: &r2)
        XCTAssertEqual(k1.stateDict(), k2.stateDict())
    }
}
