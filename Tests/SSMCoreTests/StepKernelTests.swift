import CKernels
import XCTest
@testable import SSMCore

/// The step kernels' half-precision weights and their fork–join team.
final class StepKernelTests: XCTestCase {
    /// Every binary16 pattern widens exactly as the checkpoint loader's conversion does.
    func testHalfToFloatMatchesLoaderForEveryPattern() {
        for bits in 0...UInt16.max {
            let got = ssm_half_to_float(bits), expected = HalfPrecision.float(fromHalfBits: bits)
            if expected.isNaN ? !got.isNaN : (got.bitPattern != expected.bitPattern) {
                XCTFail("0x\(String(bits, radix: 16)): \(got) != \(expected)")
                return
            }
        }
    }

    /// Narrowing rounds to the nearest half, ties to even, against a slow search over the two
    /// neighbouring halves (values from the whole range, subnormals, ties and overflow included).
    func testFloatToHalfRoundsToNearestEven() {
        var rng = SeededRNG(seed: 3)
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e-8, 2.98e-8, 2.99e-8, 6.1e-5, 1e-40, .infinity, -.infinity]
        for bits in stride(from: UInt16(0), to: 0x7C00, by: 7) {                // exact halves and the midpoints above them
            let h = HalfPrecision.float(fromHalfBits: bits), next = HalfPrecision.float(fromHalfBits: bits + 1)
            values += [h, -h, (h + next) / 2, -(h + next) / 2]
        }
        for _ in 0..<20000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) ) }
        for v in values where !v.isNaN {
            let got = ssm_float_to_half(v)
            XCTAssertEqual(got, Self.nearestHalf(v), "\(v)")
        }
        XCTAssertEqual(ssm_float_to_half(.nan) & 0x7C00, 0x7C00)
        XCTAssertNotEqual(ssm_float_to_half(.nan) & 0x03FF, 0)
    }

    /// The nearest binary16 to `v` (ties to the even pattern), by searching the finite halves in Double.
    static func nearestHalf(_ v: Float) -> UInt16 {
        let sign: UInt16 = v.sign == .minus ? 0x8000 : 0
        let a = Double(abs(v))
        if a.isInfinite || a >= 65520 { return sign | 0x7C00 }                  // 65520 = 65504 + half an ulp: rounds up to ∞
        var lo: UInt16 = 0, hi: UInt16 = 0x7BFF                                  // largest pattern with value ≤ a
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if Double(HalfPrecision.float(fromHalfBits: mid)) <= a { lo = mid } else { hi = mid - 1 }
        }
        let below = Double(HalfPrecision.float(fromHalfBits: lo))
        if below == a || lo == 0x7BFF { return sign | lo }
        let above = Double(HalfPrecision.float(fromHalfBits: lo + 1))
        let pick: UInt16 = (a - below < above - a) ? lo : (a - below > above - a ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1))
        return sign | pick
    }

    static func randomMatrix(_ rows: Int, _ cols: Int, _ rng: inout SeededRNG, scale: Float = 1) -> Tensor {
        Tensor(shape: [rows, cols], data: (0..<(rows * cols)).map { _ in scale * rng.uniform(-1, 1) })
    }

    /// Half-precision affine maps compute, within Float rounding, `x Wᵀ + b` with W rounded to halves
    /// (Double reference), and the vector path equals the portable one bit for bit.
    func testHalfAffineMatchesRoundedWeightsAndPortablePath() {
        var rng = SeededRNG(seed: 5)
        for (inF, outF, batch) in [(64, 128, 1), (37, 45, 3), (256, 512, 2), (1, 33, 5), (130, 31, 4)] {
            let w = Self.randomMatrix(outF, inF, &rng, scale: 0.3), bias = Tensor(shape: [outF], data: (0..<outF).map { _ in rng.uniform(-1, 1) })
            let x = (0..<(batch * inF)).map { _ in rng.uniform(-2, 2) }
            let affine = StepAffine(weight: w, bias: bias, precision: .f16)
            XCTAssertEqual(affine.precision, .f16)
            var y = [Float](repeating: .nan, count: batch * outF), portable = y
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { affine.apply(xp.baseAddress!, batch: batch, into: $0.baseAddress!) }
                portable.withUnsafeMutableBufferPointer {
                    ssm_step_affine_f16_portable(xp.baseAddress!, batch, inF, affine.packedHalf!.pointer, affine.bias!.pointer, outF, $0.baseAddress!, 0)
                }
            }
            XCTAssertEqual(y.map(\.bitPattern), portable.map(\.bitPattern), "vector vs portable path, \(inF)→\(outF) × \(batch)")
            for b in 0..<batch { for o in 0..<outF {
                var ref = Double(bias.data[o]), mag = abs(ref)
                for i in 0..<inF {
                    let wh = Double(HalfPrecision.float(fromHalfBits: ssm_float_to_half(w.data[o * inF + i])))
                    ref += wh * Double(x[b * inF + i]); mag += abs(wh * Double(x[b * inF + i]))
                }
                XCTAssertEqual(Double(y[b * outF + o]), ref, accuracy: 4e-7 * mag + 1e-30, "\(inF)→\(outF) row \(b) out \(o)")
            }}
        }
    }

    /// A weight a half cannot hold keeps the whole map in Float (never ∞ in a product).
    func testHalfAffineFallsBackToFloatForLargeWeights() {
        var rng = SeededRNG(seed: 6)
        var w = Self.randomMatrix(8, 4, &rng)
        w.data[5] = 70000
        let affine = StepAffine(weight: w, bias: nil, precision: .f16)
        XCTAssertEqual(affine.precision, .f32)
        let x: [Float] = [0, 1, 0, 0]
        var y = [Float](repeating: 0, count: 8)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { affine.apply(xp.baseAddress!, batch: 1, into: $0.baseAddress!) } }
        XCTAssertEqual(y[1], 70000)
        XCTAssertEqual(StepAffine.$packing.withValue(.f16) { StepAffine(weight: Self.randomMatrix(3, 3, &rng), bias: nil).precision }, .f16)
        XCTAssertEqual(StepAffine(weight: Self.randomMatrix(3, 3, &rng), bias: nil).precision, .f32)
    }

    /// With the team on, the affine (Float and half weights) and diagonal steps give the same bits
    /// as on one thread, for shapes whose splits fall inside blocks, rows and cache lines.
    func testTeamSplitsGiveIdenticalResults() {
        var rng = SeededRNG(seed: 7)
        for (inF, outF, batch) in [(256, 512, 1), (128, 200, 3), (512, 96, 16)] {
            let w = Self.randomMatrix(outF, inF, &rng)
            let x = (0..<(batch * inF)).map { _ in rng.uniform(-1, 1) }
            for precision in StepWeightPrecision.allCases {
                let affine = StepAffine(weight: w, bias: nil, precision: precision)
                func run(_ threads: Int) -> [UInt32] {
                    var y = [Float](repeating: 1, count: batch * outF)
                    StepTeam.with(threads: threads) {
                        for _ in 0..<3 {
                            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { affine.apply(xp.baseAddress!, batch: batch, into: $0.baseAddress!, accumulate: true) } }
                        }
                    }
                    return y.map(\.bitPattern)
                }
                XCTAssertEqual(run(1), run(2), "\(precision) \(inF)→\(outF) × \(batch)")
                XCTAssertEqual(run(1), run(3), "\(precision) \(inF)→\(outF) × \(batch), 3 threads")
            }
        }
        for (h, n, c, batch) in [(256, 32, 1, 1), (72, 16, 2, 3), (128, 64, 1, 8), (40, 8, 1, 2)] {
            let coefficients = (0..<6).map { k in (0..<((k >= 4 ? c : 1) * n * h)).map { _ in 0.7 * rng.uniform(-1, 1) } }
            let packed = Self.packDiagonal(h, n, c, coefficients)
            let u = (0..<(batch * h)).map { _ in rng.uniform(-1, 1) }
            func run(_ threads: Int) -> ([UInt32], [UInt32]) {
                var state = (0..<(batch * ssm_step_diagonal_state_count(h, n))).map { Float($0 % 7) * 0.01 }
                var y = [Float](repeating: .nan, count: batch * c * h)
                StepTeam.with(threads: threads) {
                    for _ in 0..<4 { ssm_step_diagonal(u, batch, h, n, c, packed, &state, &y) }
                }
                return (y.map(\.bitPattern), state.map(\.bitPattern))
            }
            let one = run(1)
            for threads in [2, 3] {
                let other = run(threads)
                XCTAssertEqual(one.0, other.0, "diagonal outputs h \(h) n \(n) c \(c) × \(batch), \(threads) threads")
                XCTAssertEqual(one.1, other.1, "diagonal states h \(h) n \(n) c \(c) × \(batch), \(threads) threads")
            }
        }
        XCTAssertEqual(StepTeam.threads, 1, "the team is restored to off")
    }

    /// A row of a batch (computed in pairs) gives the same bits as that row alone, for both
    /// weight precisions, with and without bias and accumulation, odd inputs and partial blocks.
    func testBatchedRowsEqualSingleRows() {
        var rng = SeededRNG(seed: 9)
        for (inF, outF, batch) in [(64, 128, 2), (37, 45, 5), (256, 20, 3), (1, 70, 4)] {
            let w = Self.randomMatrix(outF, inF, &rng), bias = Tensor(shape: [outF], data: (0..<outF).map { _ in rng.uniform(-1, 1) })
            let x = (0..<(batch * inF)).map { _ in rng.uniform(-1, 1) }
            let start = (0..<(batch * outF)).map { _ in rng.uniform(-1, 1) }
            for precision in StepWeightPrecision.allCases { for withBias in [false, true] { for accumulate in [false, true] {
                let affine = StepAffine(weight: w, bias: withBias ? bias : nil, precision: precision)
                var all = start
                x.withUnsafeBufferPointer { xp in all.withUnsafeMutableBufferPointer { affine.apply(xp.baseAddress!, batch: batch, into: $0.baseAddress!, accumulate: accumulate) } }
                for b in 0..<batch {
                    var one = Array(start[(b * outF)..<((b + 1) * outF)])
                    x.withUnsafeBufferPointer { xp in one.withUnsafeMutableBufferPointer { affine.apply(xp.baseAddress! + b * inF, batch: 1, into: $0.baseAddress!, accumulate: accumulate) } }
                    XCTAssertEqual(Array(all[(b * outF)..<((b + 1) * outF)]).map(\.bitPattern), one.map(\.bitPattern),
                                   "\(precision) \(inF)→\(outF) row \(b) of \(batch), bias \(withBias), accumulate \(accumulate)")
                }
            }}}
        }
    }

    /// Packs planar `dA`, `dB` `(n, h)` and `dC` `(c, n, h)` (real, imaginary) for ``ssm_step_diagonal``.
    static func packDiagonal(_ h: Int, _ n: Int, _ c: Int, _ p: [[Float]]) -> [Float] {
        var packed = [Float](repeating: .nan, count: ssm_step_diagonal_packed_count(h, n, c))
        ssm_step_diagonal_pack(h, n, c, p[0], p[1], p[2], p[3], p[4], p[5], &packed)
        return packed
    }

    /// The diagonal step (dB folded into dC, blocks of 16 features, partial last block, one and
    /// two output channels, batch rows) against a slow complex recurrence in Double.
    func testDiagonalStepMatchesComplexRecurrence() {
        var rng = SeededRNG(seed: 8)
        for (h, n, c, batch) in [(40, 5, 2, 2), (37, 6, 1, 3), (16, 3, 3, 1)] {
            let steps = 6
            let ar = (0..<(n * h)).map { _ in 0.9 * rng.uniform(-1, 1) }, ai = (0..<(n * h)).map { _ in 0.4 * rng.uniform(-1, 1) }
            let br = (0..<(n * h)).map { _ in rng.uniform(-1, 1) }, bi = (0..<(n * h)).map { _ in rng.uniform(-1, 1) }
            let cr = (0..<(c * n * h)).map { _ in rng.uniform(-1, 1) }, ci = (0..<(c * n * h)).map { _ in rng.uniform(-1, 1) }
            let packed = Self.packDiagonal(h, n, c, [ar, ai, br, bi, cr, ci])
            var state = [Float](repeating: 0, count: batch * ssm_step_diagonal_state_count(h, n))
            var y = [Float](repeating: .nan, count: batch * c * h)
            var ref = [(Double, Double)](repeating: (0, 0), count: batch * n * h)
            StepTeam.with(threads: 2) {
                for _ in 0..<steps {
                    let u = (0..<(batch * h)).map { _ in rng.uniform(-1, 1) }
                    ssm_step_diagonal(u, batch, h, n, c, packed, &state, &y)
                    for b in 0..<batch { for j in 0..<h {
                        var out = [Double](repeating: 0, count: c)
                        for k in 0..<n {
                            let i = (b * n + k) * h + j, p = k * h + j
                            let (r, m) = ref[i], x = Double(u[b * h + j])
                            ref[i] = (Double(ar[p]) * r - Double(ai[p]) * m + Double(br[p]) * x, Double(ar[p]) * m + Double(ai[p]) * r + Double(bi[p]) * x)
                            for co in 0..<c { out[co] += 2 * (Double(cr[(co * n + k) * h + j]) * ref[i].0 - Double(ci[(co * n + k) * h + j]) * ref[i].1) }
                        }
                        for co in 0..<c {
                            XCTAssertEqual(Double(y[(b * c + co) * h + j]), out[co], accuracy: 1e-4, "h \(h) n \(n) c \(c) row \(b) feature \(j)")
                        }
                    }}
                }
            }
        }
    }
}
