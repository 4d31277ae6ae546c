import Foundation
import XCTest
@testable import SSMCore
import TestSupport

final class SafeTensorsTests: XCTestCase {
    // MARK: - Golden fixtures

    /// Every fixture loads; its tensors are finite F32 data and its metadata names the module.
    func testReadsEveryFixture() throws {
        let dir = TestSupport.fixturesDirectory
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".safetensors") }.sorted()
        guard !files.isEmpty else { throw XCTSkip("no fixtures in \(dir.path)") }
        for name in files {
            let url = dir.appendingPathComponent(name)
            let file = try SafeTensors.read(url)
            XCTAssertFalse(file.tensors.isEmpty, name)
            XCTAssertNotNil(file.metadata["module"], name)
            XCTAssertNotNil(file.metadata["args"], name)
            XCTAssertNotNil(file.tensors["io.input"], name)
            // Independent slow reading: Foundation's JSON parser for the header, element-by-element
            // little-endian decoding of the F32 data.
            let raw = [UInt8](try Data(contentsOf: url))
            let n = raw[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
            let header = try JSONSerialization.jsonObject(with: Data(raw[8..<(8 + n)])) as! [String: Any]
            XCTAssertEqual(header.count - 1, file.tensors.count, name)
            for (key, value) in header where key != "__metadata__" {
                let entry = value as! [String: Any]
                XCTAssertEqual(entry["dtype"] as? String, "F32")
                let shape = (entry["shape"] as! [NSNumber]).map(\.intValue)
                let offsets = (entry["data_offsets"] as! [NSNumber]).map(\.intValue)
                let expected = stride(from: 8 + n + offsets[0], to: 8 + n + offsets[1], by: 4).map { i in
                    Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
                }
                let t = try XCTUnwrap(file.tensors[key], "\(name): \(key) missing")
                XCTAssertEqual(t.shape, shape, "\(name): \(key)")
                XCTAssertEqual(t.data.map(\.bitPattern), expected.map(\.bitPattern), "\(name): \(key)")
                XCTAssertTrue(t.data.allSatisfy { $0.isFinite }, "\(name): \(key) has non-finite values")
            }
        }
    }

    // MARK: - Round trip

    func testEncodeDecodeRoundTripIsExact() throws {
        var rng = SeededRNG(seed: 11)
        let tensors: [String: Tensor] = [
            "layer.kernel.B": TestSupport.randomTensor([3, 4, 2], rng: &rng),
            "a": TestSupport.randomTensor([5], rng: &rng),
            "scalar": Tensor(scalar: -2.5),
            "empty": Tensor.zeros([0, 3]),
            "special": Tensor(shape: [4], data: [.infinity, -.infinity, -0.0, .leastNonzeroMagnitude]),
        ]
        let metadata = ["module": "x.y.Z", "args": "{\"d_model\": 4, \"q\": \"\\\"\"}", "ünïcode": "✓\n\t"]
        let data = try SafeTensors.encode(tensors, metadata: metadata)
        let back = try SafeTensors.decode(data)
        XCTAssertEqual(back.metadata, metadata)
        XCTAssertEqual(Set(back.tensors.keys), Set(tensors.keys))
        for (k, t) in tensors {
            XCTAssertEqual(back.tensors[k]?.shape, t.shape, k)
            XCTAssertEqual(back.tensors[k]?.data.map(\.bitPattern), t.data.map(\.bitPattern), k)
        }
    }

    func testWriteThenReadFile() throws {
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        try SafeTensors.write(["w": t], metadata: ["k": "v"], to: url)
        let back = try SafeTensors.read(url)
        XCTAssertEqual(back, SafeTensorsFile(tensors: ["w": t], metadata: ["k": "v"]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    }
}
