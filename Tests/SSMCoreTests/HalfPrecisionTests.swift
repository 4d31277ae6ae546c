import XCTest
@testable import SSMCore

final class HalfPrecisionTests: XCTestCase {
    func testHalfKnownBitPatterns() {
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x3C00, 1), (0xBC00, -1), (0xC000, -2), (0x3800, 0.5), (0x4248, 3.140625),
            (0x3555, 0.333251953125), (0x3BFF, 0.99951171875), (0x3C01, 1.0009765625),
            (0x7BFF, 65504),                       // largest finite
            (0x0400, 6.103515625e-05),             // smallest normal, 2^-14
            (0x03FF, 6.097555160522461e-05),       // largest subnormal, 1023 · 2^-24
            (0x0001, 5.960464477539063e-08),       // smallest subnormal, 2^-24
            (0x8001, -5.960464477539063e-08),
            (0x7C00, .infinity), (0xFC00, -.infinity),
        ]
        for (bits, expected) in cases {
            XCTAssertEqual(HalfPrecision.float(fromHalfBits: bits), expected, String(bits, radix: 16))
        }
        let negativeZero = HalfPrecision.float(fromHalfBits: 0x8000)
        XCTAssertEqual(negativeZero, 0)
        XCTAssertEqual(negativeZero.sign, .minus)
        XCTAssertTrue(HalfPrecision.float(fromHalfBits: 0x7E00).isNaN)
        XCTAssertTrue(HalfPrecision.float(fromHalfBits: 0xFC01).isNaN)
    }

    /// All 65,536 patterns against the slow definition `(-1)^s · 2^(e-15) · (1 + m/1024)`
    /// (or `m · 2^-24` when e = 0), evaluated in Double.
    func testHalfMatchesDefinitionForEveryPattern() {
        for bits in 0...UInt16.max {
            let s = (bits >> 15) == 1 ? -1.0 : 1.0
            let e = Int((bits >> 10) & 0x1F), m = Double(bits & 0x3FF)
            let got = HalfPrecision.float(fromHalfBits: bits)
            if e == 31 {
                XCTAssertTrue(m == 0 ? got == Float(s * .infinity) : got.isNaN, String(bits, radix: 16))
                continue
            }
            let expected = e == 0 ? s * m * 0x1p-24 : s * Double(sign: .plus, exponent: e - 15, significand: 1 + m / 1024)
            if got != Float(expected) || got.sign != Float(expected).sign {
                XCTFail("0x\(String(bits, radix: 16)): \(got) != \(expected)")
                return
            }
        }
    }

    func testBFloat16KnownBitPatterns() {
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x3F80, 1), (0xBF80, -1), (0xC000, -2), (0x4049, 3.140625), (0x3EAB, 0.333984375),
            (0x7F7F, 3.3895313892515355e38),       // largest finite
            (0x0080, 0x1p-126),     // smallest normal, 2^-126
            (0x0001, 0x1p-133),      // smallest subnormal, 2^-133
            (0x7F80, .infinity), (0xFF80, -.infinity),
        ]
        for (bits, expected) in cases {
            XCTAssertEqual(HalfPrecision.float(fromBFloat16Bits: bits), expected, String(bits, radix: 16))
        }
        XCTAssertTrue(HalfPrecision.float(fromBFloat16Bits: 0x7FC0).isNaN)
        XCTAssertEqual(HalfPrecision.float(fromBFloat16Bits: 0x8000).sign, .minus)
    }

    /// Every dtype read from a hand-built file, at odd (unaligned) offsets, with known values.
    func testEveryDTypeConvertsToFloat() throws {
        typealias V = SafeTensorsValidationTests
        func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
            values.flatMap { v in (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        }
        let parts: [(String, String, [Int], [UInt8], [Float])] = [
            ("u8", "U8", [3], [0, 7, 255], [0, 7, 255]),
            ("f32", "F32", [2], le([Float(1.5).bitPattern, Float(-3.25).bitPattern]), [1.5, -3.25]),
            ("f16", "F16", [2, 2], le([UInt16(0x3C00), 0xC000, 0x3555, 0x0001]), [1, -2, 0.333251953125, 5.960464477539063e-08]),
            ("bf16", "BF16", [2], le([UInt16(0x3F80), 0xC049]), [1, -3.140625]),
            ("f64", "F64", [2], le([Double(0.1).bitPattern, Double(-1e300).bitPattern]), [0.1, -.infinity]),
            ("i64", "I64", [2], le([Int64(-5), Int64(1) << 40]), [-5, 1_099_511_627_776]),
            ("i32", "I32", [2], le([Int32.min, Int32(123_456)]), [-2_147_483_648, 123_456]),
            ("i16", "I16", [2], le([Int16(-300), Int16.max]), [-300, 32_767]),
            ("i8", "I8", [2], [0x80, 0x7F], [-128, 127]),
            ("bool", "BOOL", [3], [0, 1, 2], [0, 1, 1]),
        ]
        var entries: [String] = [], buffer: [UInt8] = []
        for (name, dtype, shape, bytes, _) in parts {
            entries.append(V.entry(name, dtype, shape, buffer.count, buffer.count + bytes.count))
            buffer += bytes
        }
        let f = try SafeTensors.decode(V.file("{" + entries.joined(separator: ",") + "}", buffer: buffer))
        for (name, _, shape, _, expected) in parts {
            XCTAssertEqual(f.tensors[name]?.shape, shape, name)
            XCTAssertEqual(f.tensors[name]?.data, expected, name)
        }
    }
}
