import Foundation
import XCTest
@testable import SSMCore
import TestSupport

/// One test per rule of the format, each on a hand-built malformed file.
final class SafeTensorsValidationTests: XCTestCase {
    /// `N` (8 bytes LE) · header · buffer. `declaredLength` overrides `N`.
    static func file(_ header: String, buffer: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
        file(bytes: Array(header.utf8), buffer: buffer, declaredLength: declaredLength)
    }

    static func file(bytes header: [UInt8], buffer: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
        let n = declaredLength ?? UInt64(header.count)
        return Data((0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + header + buffer)
    }

    /// A tensor entry.
    static func entry(_ name: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        entry(name, "F32", shape, begin, end)
    }

    static func entry(_ name: String, _ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(end)]}"
    }

    func assertRejects(_ data: Data, _ expected: SafeTensorsError.Reason,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.decode(data, source: "bad.safetensors"), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else {
                return XCTFail("not a SafeTensorsError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(e.source, "bad.safetensors", file: file, line: line)
            XCTAssertEqual(e.reason, expected, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix("bad.safetensors: "), e.description, file: file, line: line)
        }
    }

    func assertRejects(_ data: Data, file: StaticString = #filePath, line: UInt = #line,
                       where matches: (SafeTensorsError.Reason) -> Bool) {
        XCTAssertThrowsError(try SafeTensors.decode(data, source: "bad.safetensors"), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else {
                return XCTFail("not a SafeTensorsError: \(error)", file: file, line: line)
            }
            XCTAssertTrue(matches(e.reason), "unexpected reason: \(e)", file: file, line: line)
        }
    }

    let four: [UInt8] = [0, 0, 128, 63]  // 1.0 as F32 LE

    // MARK: - Header length

    func testEmptyFile() {
        assertRejects(Data(), .truncatedHeaderLength(fileLength: 0))
    }

    func testFileShorterThanHeaderLength() {
        assertRejects(Data([1, 0, 0, 0, 0]), .truncatedHeaderLength(fileLength: 5))
    }

    func testHeaderLengthBeyondFile() {
        // Declares 64 header bytes, holds 2.
        assertRejects(Self.file("{}", declaredLength: 64), .headerBeyondEndOfFile(headerLength: 64, fileLength: 10))
    }

    func testTruncatedHeader() {
        // The header is cut off in the middle; the length prefix still claims the whole of it.
        let full = "{" + Self.entry("a", [1], 0, 4) + "}"
        let cut = Array(full.utf8.prefix(20))
        assertRejects(Self.file(bytes: cut, declaredLength: UInt64(full.utf8.count)),
                      .headerBeyondEndOfFile(headerLength: UInt64(full.utf8.count), fileLength: 28))
    }

    func testOversizedHeaderRejectedBeforeReading() {
        // 100 MB + 1 declared: rejected without looking further, even though the file is tiny.
        assertRejects(Self.file("{}", declaredLength: 100_000_001),
                      .headerTooLarge(length: 100_000_001, limit: 100_000_000))
        assertRejects(Self.file("{}", declaredLength: UInt64.max),
                      .headerTooLarge(length: UInt64.max, limit: 100_000_000))
    }

    func testHeaderLimitIsConfigurableAndInclusive() throws {
        let data = Self.file("{" + Self.entry("a", [1], 0, 4) + "}", buffer: four)
        let n = data.count - 12
        XCTAssertNoThrow(try SafeTensors.decode(data, limits: SafeTensorsLimits(maxHeaderBytes: n)))
        XCTAssertThrowsError(try SafeTensors.decode(data, limits: SafeTensorsLimits(maxHeaderBytes: n - 1))) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.reason, .headerTooLarge(length: UInt64(n), limit: n - 1))
        }
    }

    /// Files of other formats: their first 8 bytes read as a length are huge or past the end, and
    /// no JSON object follows. Reported as what they are, not as an absurd header length.
    func testFileOfAnotherFormatIsNotASafetensorsFile() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52]
        let text = Array("just some words, not a model\n".utf8)
        let wav = Array("RIFF".utf8) + [0x24, 0x08, 0, 0] + Array("WAVEfmt ".utf8)
        for bytes in [png, text, wav, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]] {
            let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
            assertRejects(Data(bytes), .notSafeTensors(headerLength: n))
            let description = "\(SafeTensorsError(source: "x", reason: .notSafeTensors(headerLength: n)))"
            XCTAssertEqual(description, "x: not a safetensors file (it does not start with an 8-byte header length and a JSON header)")
        }
        // A JSON object after an impossible length: a safetensors file with a corrupt length.
        assertRejects(Self.file("{}", declaredLength: 727_905_341_920_923_785), .headerTooLarge(length: 727_905_341_920_923_785, limit: 100_000_000))
        XCTAssertEqual(SafeTensorsError.Reason.headerTooLarge(length: 727_905_341_920_923_785, limit: 100_000_000).description,
                       "corrupt header length: the first 8 bytes declare a 727905341920923785-byte header, over the limit of 100000000 bytes")
        // A plausible length with no object after it keeps its own reason.
        assertRejects(Self.file("[1, 2]"), .headerNotJSONObject)
    }

    // MARK: - Header encoding and JSON

    func testHeaderNotUTF8() {
        var header = Array("{\"__metadata__\":{\"k\":\"v\"}}".utf8)
        header[22] = 0xFF  // inside the string "v"
        assertRejects(Self.file(bytes: header), .headerNotUTF8)
        // A truncated multi-byte sequence at the end of the header.
        assertRejects(Self.file(bytes: Array("{}".utf8) + [0xC3]), .headerNotUTF8)
    }

    func testHeaderMustStartWithBrace() {
        assertRejects(Self.file("[1, 2]"), .headerNotJSONObject)
        assertRejects(Self.file(" {}"), .headerNotJSONObject)
        assertRejects(Self.file(""), .headerNotJSONObject)
    }

    func testHeaderInvalidJSON() {
        for bad in ["{", "{\"a\":}", "{\"a\":{\"dtype\":\"F32\",}}", "{} x", "{'a':1}", "{\"a\":01}",
                    "{\"a\":\"\\q\"}", "{\"a\":\"\u{01}\"}", "{\"a\":\"\\ud800\"}", "{\"a\":tru}"] {
            assertRejects(Self.file(bad)) {
                if case .invalidJSON = $0 { return true } else { return false }
            }
        }
    }

    func testDeeplyNestedHeaderIsRejectedNotOverflowingTheStack() {
        let deep = "{\"__metadata__\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        assertRejects(Self.file(deep)) {
            if case .invalidJSON(_, let message) = $0 { return message.contains("nesting") } else { return false }
        }
    }

    func testHeaderPaddedWithTrailingSpacesIsAccepted() throws {
        let header = "{" + Self.entry("a", [1], 0, 4) + "}" + String(repeating: " ", count: 13)
        let f = try SafeTensors.decode(Self.file(header, buffer: four))
        XCTAssertEqual(f.tensors["a"], Tensor(shape: [1], data: [1]))
    }

    func testStringEscapesAreDecoded() throws {
        let header = #"{"__metadata__":{"q\"\\\/":"\u00e9\ud83d\ude00\n\t\b\f\r"}}"#
        let f = try SafeTensors.decode(Self.file(header))
        XCTAssertEqual(f.metadata, ["q\"\\/": "é😀\n\t\u{08}\u{0C}\r"])
    }

    // MARK: - Keys and metadata

    func testDuplicateTensorKeyRejected() {
        let header = "{" + Self.entry("a", [1], 0, 4) + "," + Self.entry("a", [1], 4, 8) + "}"
        assertRejects(Self.file(header, buffer: four + four), .duplicateKey("a"))
    }

    func testDuplicateMetadataKeyRejected() {
        assertRejects(Self.file(#"{"__metadata__":{"k":"1","k":"2"}}"#), .duplicateKey("k"))
        assertRejects(Self.file(#"{"__metadata__":{},"__metadata__":{}}"#), .duplicateKey("__metadata__"))
    }

    func testMetadataMustBeStringMap() {
        for bad in [#"{"__metadata__":{"k":1}}"#, #"{"__metadata__":{"k":["v"]}}"#, #"{"__metadata__":{"k":null}}"#,
                    #"{"__metadata__":["k","v"]}"#, #"{"__metadata__":"k"}"#] {
            assertRejects(Self.file(bad)) {
                if case .invalidMetadata = $0 { return true } else { return false }
            }
        }
    }

    func testMetadataNullMeansNone() throws {
        XCTAssertEqual(try SafeTensors.decode(Self.file(#"{"__metadata__":null}"#)), SafeTensorsFile())
    }

    // MARK: - Tensor entries

    func testUnknownDTypeRejectedClearly() {
        let data = Self.file("{" + Self.entry("w", "F99", [1], 0, 4) + "}", buffer: four)
        assertRejects(data, .unsupportedDType(name: "w", dtype: "F99"))
        do {
            _ = try SafeTensors.decode(data, source: "m.safetensors")
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.contains("m.safetensors") && text.contains("\"w\"") && text.contains("F99")
                          && text.contains("BF16"), text)
        }
        // A dtype of the format this reader does not convert.
        assertRejects(Self.file("{" + Self.entry("w", "F8_E4M3", [4], 0, 4) + "}", buffer: four),
                      .unsupportedDType(name: "w", dtype: "F8_E4M3"))
    }

    func testMalformedTensorEntries() {
        let cases = [
            #"{"w":[1,2]}"#,
            #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":[1]}}"#,
            #"{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}"#,
            #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}"#,
            #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#,
        ]
        for header in cases {
            assertRejects(Self.file(header, buffer: four)) {
                if case .invalidTensorEntry(name: "w", _) = $0 { return true } else { return false }
            }
        }
    }

    func testUnknownFieldsInEntryAreIgnoredLikeTheReference() throws {
        let header = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"x":[1]}}}"#
        XCTAssertEqual(try SafeTensors.decode(Self.file(header, buffer: four)).tensors["w"]?.data, [1])
    }

    func testOffsetsBeginAfterEnd() {
        assertRejects(Self.file("{" + Self.entry("w", [0], 4, 0) + "}", buffer: four),
                      .invalidOffsets(name: "w", begin: 4, end: 0))
    }

    func testByteLengthMustMatchShapeTimesDTypeSize() {
        // (2, 3) F32 needs 24 bytes; the offsets span 20.
        let buffer = [UInt8](repeating: 0, count: 20)
        assertRejects(Self.file("{" + Self.entry("w", [2, 3], 0, 20) + "}", buffer: buffer),
                      .byteLengthMismatch(name: "w", expected: 24, actual: 20))
        // F16 elements are 2 bytes: [2] F16 spans 4, not 8.
        assertRejects(Self.file("{" + Self.entry("h", "F16", [2], 0, 8) + "}", buffer: four + four),
                      .byteLengthMismatch(name: "h", expected: 4, actual: 8))
    }

    func testSizeOverflowIsDetected() {
        // Element count overflows Int.
        assertRejects(Self.file("{" + Self.entry("w", [1 << 62, 4], 0, 4) + "}", buffer: four), .sizeOverflow(name: "w"))
        // Element count fits, bytes (× 8) do not.
        assertRejects(Self.file("{" + Self.entry("w", "F64", [1 << 61], 0, 4) + "}", buffer: four), .sizeOverflow(name: "w"))
        // A zero extent makes the product 0 however large the others: no overflow, length checked.
        XCTAssertNoThrow(try SafeTensors.decode(Self.file("{" + Self.entry("w", [Int.max, 0], 0, 0) + "}")))
    }

    // MARK: - Buffer tiling

    func testFirstTensorMustStartAtZero() {
        assertRejects(Self.file("{" + Self.entry("w", [1], 4, 8) + "}", buffer: four + four),
                      .gapBeforeTensor(name: "w", expectedBegin: 0, begin: 4))
    }

    func testTensorsMustBeContiguous() {
        let header = "{" + Self.entry("a", [1], 0, 4) + "," + Self.entry("b", [1], 8, 12) + "}"
        assertRejects(Self.file(header, buffer: four + four + four), .gapBeforeTensor(name: "b", expectedBegin: 4, begin: 8))
    }

    func testTensorsMustNotOverlap() {
        let header = "{" + Self.entry("a", [2], 0, 8) + "," + Self.entry("b", [2], 4, 12) + "}"
        assertRejects(Self.file(header, buffer: four + four + four), .overlappingTensors(first: "a", second: "b"))
        // The same range twice.
        let twice = "{" + Self.entry("a", [1], 0, 4) + "," + Self.entry("b", [1], 0, 4) + "}"
        assertRejects(Self.file(twice, buffer: four), .overlappingTensors(first: "a", second: "b"))
    }

    func testDataBeyondEndOfFile() {
        // The buffer was cut short: the tensor needs 8 bytes, 6 remain.
        assertRejects(Self.file("{" + Self.entry("w", [2], 0, 8) + "}", buffer: [0, 0, 128, 63, 0, 0]),
                      .dataBeyondEndOfFile(name: "w", end: 8, bufferLength: 6))
    }

    func testTrailingBytesAfterLastTensor() {
        assertRejects(Self.file("{" + Self.entry("w", [1], 0, 4) + "}", buffer: four + [7]),
                      .trailingBytes(covered: 4, bufferLength: 5))
        assertRejects(Self.file("{}", buffer: [1, 2]), .trailingBytes(covered: 0, bufferLength: 2))
    }

    func testHeaderOrderNeedNotMatchBufferOrder() throws {
        let header = "{" + Self.entry("b", [1], 4, 8) + "," + Self.entry("z", [0], 4, 4) + ","
            + Self.entry("a", [1], 0, 4) + "}"
        let f = try SafeTensors.decode(Self.file(header, buffer: four + [0, 0, 0, 192]))
        XCTAssertEqual(f.tensors["a"]?.data, [1])
        XCTAssertEqual(f.tensors["b"]?.data, [-2])
        XCTAssertEqual(f.tensors["z"]?.shape, [0])
    }

    func testEmptyHeaderObjectIsAnEmptyFile() throws {
        XCTAssertEqual(try SafeTensors.decode(Self.file("{}")), SafeTensorsFile())
    }

    // MARK: - Files on disk

    func testMissingFileErrorNamesIt() {
        let url = URL(fileURLWithPath: "/nonexistent-dir/none.safetensors")
        XCTAssertThrowsError(try SafeTensors.read(url)) { error in
            guard let e = error as? SafeTensorsError, case .io = e.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(e.source, url.path)
            XCTAssertTrue("\(e)".hasPrefix(url.path + ": "), "\(e)")
        }
    }

    /// A folder or a missing path: said in words, not as a Foundation error domain and code.
    func testFolderAndMissingFileAreSaidPlainly() throws {
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try SafeTensors.read(dir)) { error in
            XCTAssertEqual(error as? SafeTensorsError, SafeTensorsError(source: dir.path, reason: .io("is a directory, not a safetensors file")))
            XCTAssertEqual("\(error)", dir.path + ": is a directory, not a safetensors file")
        }
        let missing = dir.appendingPathComponent("none.safetensors")
        XCTAssertThrowsError(try SafeTensors.read(missing)) { error in
            XCTAssertEqual("\(error)", missing.path + ": no such file")
        }
    }

    /// The stored element type of every tensor is kept next to the converted values, so a reader
    /// can refuse integers where it expects floating-point weights; equality ignores it.
    func testStoredDTypesAreRecorded() throws {
        let header = "{" + Self.entry("f", "F32", [1], 0, 4) + "," + Self.entry("i", "I32", [1], 4, 8) + ","
            + Self.entry("b", "BOOL", [2], 8, 10) + "}"
        let file = try SafeTensors.decode(Self.file(header, buffer: four + [1, 0, 0, 0] + [1, 0]))
        XCTAssertEqual(file.dtypes, ["f": .F32, "i": .I32, "b": .BOOL])
        XCTAssertEqual(file.tensors["i"]?.data, [1])
        XCTAssertEqual(file.dtypes.mapValues(\.isFloatingPoint), ["f": true, "i": false, "b": false])
        XCTAssertEqual(SafeTensorsDType.allCases.filter(\.isFloatingPoint), [.F64, .F32, .F16, .BF16])
        XCTAssertEqual(file, SafeTensorsFile(tensors: file.tensors, metadata: file.metadata))
    }

    func testReadErrorNamesTheFile() throws {
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("empty.safetensors")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data()))
        XCTAssertThrowsError(try SafeTensors.read(url)) { error in
            XCTAssertEqual(error as? SafeTensorsError, SafeTensorsError(source: url.path, reason: .truncatedHeaderLength(fileLength: 0)))
        }
    }

    // MARK: - Fuzz

    /// Random byte mutations, insertions, deletions and truncations of a valid file: each result
    /// either decodes or throws a `SafeTensorsError`; a decoded result respects its own header.
    func testMutatedFilesDecodeOrThrowNeverCrash() throws {
        var rng = SeededRNG(seed: 2024)
        let valid = try SafeTensors.encode([
            "a.weight": TestSupport.randomTensor([3, 5], rng: &rng),
            "b": TestSupport.randomTensor([7], rng: &rng),
            "c": Tensor(scalar: 1),
        ], metadata: ["module": "m", "args": "{\"x\": 1}"])
        let bytes = [UInt8](valid)
        let interesting: [UInt8] = [0, 1, 0x20, 0x22, 0x2C, 0x30, 0x39, 0x5B, 0x5D, 0x7B, 0x7D, 0x7F, 0x80, 0xC3, 0xFF]
        var decoded = 0, rejected = 0
        for _ in 0..<400 {
            var m = bytes
            let edits = 1 + Int(rng.next() % 4)
            for _ in 0..<edits {
                let at = Int(rng.next() % UInt64(max(m.count, 1)))
                switch rng.next() % 6 {
                case 0 where !m.isEmpty: m[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1 where !m.isEmpty: m[at] = interesting[Int(rng.next() % UInt64(interesting.count))]
                case 2 where !m.isEmpty: m[at] ^= UInt8(1) << (rng.next() % 8)
                case 3: m.insert(UInt8(truncatingIfNeeded: rng.next()), at: min(at, m.count))
                case 4 where !m.isEmpty: m.remove(at: at)
                default: m = Array(m.prefix(at))
                }
            }
            do {
                let f = try SafeTensors.decode(Data(m))
                for t in f.tensors.values { XCTAssertEqual(t.count, Tensor.count(of: t.shape)) }
                decoded += 1
            } catch is SafeTensorsError {
                rejected += 1
            }
        }
        XCTAssertEqual(decoded + rejected, 400)
        XCTAssertGreaterThan(rejected, 0)
        XCTAssertGreaterThan(decoded, 0)  // e.g. flips inside the float data keep the file valid
    }
}
