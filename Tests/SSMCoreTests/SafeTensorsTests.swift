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

// MARK: - Writer format and atomicity

extension SafeTensorsTests {
    /// Header: metadata first, tensor names sorted, F32, offsets in name order, padded with spaces
    /// to a multiple of 8 bytes.
    func testWriterHeaderLayout() throws {
        let data = try SafeTensors.encode(["b": Tensor(shape: [1], data: [2]), "a": Tensor(shape: [2, 1], data: [0, 1])],
                                          metadata: ["z": "1", "y": "2"])
        let bytes = [UInt8](data)
        let n = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let trimmed = header.replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        XCTAssertEqual(trimmed, #"{"__metadata__":{"y":"2","z":"1"},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#)
        XCTAssertLessThan(header.count - trimmed.count, 8)
        XCTAssertEqual(bytes.count, 8 + n + 12)
        XCTAssertEqual(Array(bytes[(8 + n)...]), [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64])  // 0, 1, 2 as F32 LE
    }

    func testWriterRejectsReservedName() {
        XCTAssertThrowsError(try SafeTensors.encode(["__metadata__": Tensor(scalar: 1)])) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.reason, .invalidTensorName("__metadata__"))
        }
    }

    func testWriteReplacesExistingFileAndLeavesNoTemporaries() throws {
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensors.write(["w": Tensor(shape: [3], data: [1, 2, 3])], to: url)
        try SafeTensors.write(["v": Tensor(shape: [1], data: [9])], metadata: ["k": "v"], to: url)
        XCTAssertEqual(try SafeTensors.read(url), SafeTensorsFile(tensors: ["v": Tensor(shape: [1], data: [9])], metadata: ["k": "v"]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    }

    /// When the final rename fails (the destination is a non-empty folder), the error names the
    /// file and the temporary file is gone.
    func testFailedWriteLeavesNothingBehind() throws {
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let blocked = dir.appendingPathComponent("blocked.safetensors")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        try Data([1]).write(to: blocked.appendingPathComponent("keep"))
        XCTAssertThrowsError(try SafeTensors.write(["w": Tensor(scalar: 1)], to: blocked)) { error in
            guard let e = error as? SafeTensorsError, case .io = e.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(e.source, blocked.path)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["blocked.safetensors"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocked.path), ["keep"])

        // A folder that does not exist: nothing is created.
        let missing = dir.appendingPathComponent("no/such/dir/w.safetensors")
        XCTAssertThrowsError(try SafeTensors.write(["w": Tensor(scalar: 1)], to: missing)) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.source, missing.path)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("no").path))
    }

    /// An encoding failure happens before anything touches the disk: the old file survives.
    func testInvalidWriteKeepsOldFile() throws {
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensors.write(["w": Tensor(scalar: 4)], to: url)
        XCTAssertThrowsError(try SafeTensors.write(["__metadata__": Tensor(scalar: 1)], to: url))
        XCTAssertEqual(try SafeTensors.read(url).tensors, ["w": Tensor(scalar: 4)])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    }
}

// MARK: - Interoperability with Python's safetensors

extension SafeTensorsTests {
    /// Runs `python3 -c script args…`; returns (exit status, stdout, stderr).
    static func python(_ script: String, _ arguments: [String] = []) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Why the Python interoperability tests cannot run, or nil when they can (checked once).
    static let pythonUnavailableReason: String? = {
        let result: (Int32, String, String)
        do {
            result = try python("import safetensors, numpy")
        } catch {
            return "python3 could not be started (\(error)); install python3 and `pip install safetensors numpy`"
        }
        if result.0 != 0 {
            let why = result.2.split(separator: "\n").last.map(String.init) ?? "exit status \(result.0)"
            return "`python3 -c \"import safetensors, numpy\"` failed (\(why)); run `python3 -m pip install safetensors numpy` to enable this test"
        }
        return nil
    }()

    static func requirePythonSafetensors() throws {
        if let reason = pythonUnavailableReason { throw XCTSkip(reason) }
    }

    /// A file written here loads with `safetensors.numpy.load_file`; Python reports every value
    /// (as the exact decimal of the float32) and the metadata, which must equal what was written.
    func testPythonReadsOurFile() throws {
        try Self.requirePythonSafetensors()
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ours.safetensors")
        var rng = SeededRNG(seed: 5)
        let tensors: [String: Tensor] = [
            "layer.kernel.A_imag": TestSupport.randomTensor([2, 3], rng: &rng),
            "scalar": Tensor(scalar: 0.1),
            "x": TestSupport.randomTensor([2, 2, 2], scale: 100, rng: &rng),
            "empty": Tensor.zeros([2, 0]),
        ]
        let metadata = ["module": "models.s4.s4.S4Block", "args": "{\"d_model\": 2}", "note": "é \"quoted\""]
        try SafeTensors.write(tensors, metadata: metadata, to: url)
        let script = """
        import sys, json
        from safetensors import safe_open
        from safetensors.numpy import load_file
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="numpy") as f:
            meta = f.metadata()
        print(json.dumps({"tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape),
                                          "data": [repr(float(x)) for x in v.reshape(-1)]} for k, v in t.items()},
                          "metadata": meta}))
        """
        let (status, out, err) = try Self.python(script, [url.path])
        XCTAssertEqual(status, 0, err)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        XCTAssertEqual(json["metadata"] as? [String: String], metadata)
        let loaded = try XCTUnwrap(json["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(Set(loaded.keys), Set(tensors.keys))
        for (name, t) in tensors {
            let entry = try XCTUnwrap(loaded[name])
            XCTAssertEqual(entry["dtype"] as? String, "float32", name)
            XCTAssertEqual((entry["shape"] as? [NSNumber])?.map(\.intValue), t.shape, name)
            let values = try XCTUnwrap(entry["data"] as? [String]).map { Float(Double($0)!) }
            XCTAssertEqual(values.map(\.bitPattern), t.data.map(\.bitPattern), name)
        }
    }

    /// Python writes float32/float16/float64/int64/int32/uint8 arrays; we read them and compare with
    /// the values Python reports (converted to float64 there, then to Float here).
    func testWeReadPythonFile() throws {
        try Self.requirePythonSafetensors()
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("theirs.safetensors")
        let script = """
        import sys, json
        import numpy as np
        from safetensors.numpy import save_file
        rng = np.random.default_rng(3)
        t = {
            "f32": rng.standard_normal((3, 4)).astype(np.float32),
            "f16": (rng.standard_normal((5,)) * 100).astype(np.float16),
            "f64": rng.standard_normal((2, 2, 2)),
            "i64": np.array([-7, 0, 2**40], dtype=np.int64),
            "i32": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
            "u8": np.array([0, 128, 255], dtype=np.uint8),
            "scalar": np.array(2.5, dtype=np.float32),
        }
        save_file(t, sys.argv[1], metadata={"module": "numpy", "args": "{}"})
        print(json.dumps({k: {"shape": list(v.shape), "data": [repr(float(x)) for x in v.reshape(-1)]} for k, v in t.items()}))
        """
        let (status, out, err) = try Self.python(script, [url.path])
        XCTAssertEqual(status, 0, err)
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: [String: Any]])
        let file = try SafeTensors.read(url)
        XCTAssertEqual(file.metadata, ["module": "numpy", "args": "{}"])
        XCTAssertEqual(Set(file.tensors.keys), Set(expected.keys))
        for (name, entry) in expected {
            let t = try XCTUnwrap(file.tensors[name], name)
            XCTAssertEqual(t.shape, (entry["shape"] as? [NSNumber])?.map(\.intValue), name)
            let values = try XCTUnwrap(entry["data"] as? [String]).map { Float(Double($0)!) }
            XCTAssertEqual(t.data, values, name)
        }
    }
}

extension SafeTensorsTests {
    /// Our writer produces the same bytes as Python's `safetensors.numpy.save` (same header order,
    /// same padding, same data).
    func testByteIdenticalToPythonWriter() throws {
        try Self.requirePythonSafetensors()
        let tensors: [String: Tensor] = [
            "b.weight": Tensor(shape: [2, 3], data: [0.5, -1, 2, 1e-3, 7, -0.25]),
            "a": Tensor(shape: [1], data: [3]),
            "c": Tensor(scalar: -8),
        ]
        let ours = try SafeTensors.encode(tensors, metadata: ["args": "{\"é\": 1}\n"])
        let script = """
        import sys
        import numpy as np
        from safetensors.numpy import save
        t = {"b.weight": np.array([[0.5, -1, 2], [1e-3, 7, -0.25]], dtype=np.float32),
             "a": np.array([3], dtype=np.float32), "c": np.array(-8, dtype=np.float32)}
        sys.stdout.write(save(t, metadata={"args": '{"\\u00e9": 1}\\n'}).hex())
        """
        let (status, out, err) = try Self.python(script)
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(ours.map { String(format: "%02x", $0) }.joined(), out)
    }

    /// Every malformed file our validation tests reject is rejected by the reference reader too,
    /// and the edge cases we accept, it accepts. (Duplicate keys are the one deliberate difference:
    /// the reference keeps one of them silently; we reject the file.)
    func testReferenceReaderAgreesOnMalformedFiles() throws {
        try Self.requirePythonSafetensors()
        typealias V = SafeTensorsValidationTests
        let one: [UInt8] = [0, 0, 128, 63]
        let rejected: [(String, Data)] = [
            ("empty", Data()),
            ("short", Data([1, 0, 0])),
            ("header beyond file", V.file("{}", declaredLength: 64)),
            ("header too large", V.file("{}", declaredLength: 100_000_001)),
            ("not utf8", V.file(bytes: Array("{\"__metadata__\":{\"k\":\"".utf8) + [0xFF] + Array("\"}}".utf8))),
            ("not an object", V.file("[1]")),
            ("invalid json", V.file("{\"a\":}")),
            ("trailing garbage", V.file("{} x")),
            ("metadata value not string", V.file(#"{"__metadata__":{"k":1}}"#)),
            ("unknown dtype", V.file("{" + V.entry("w", "F99", [1], 0, 4) + "}", buffer: one)),
            ("negative shape", V.file(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, buffer: one)),
            ("float shape", V.file(#"{"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, buffer: one)),
            ("begin > end", V.file("{" + V.entry("w", [0], 4, 0) + "}", buffer: one)),
            ("length mismatch", V.file("{" + V.entry("w", [2], 0, 4) + "}", buffer: one)),
            ("overflow", V.file("{" + V.entry("w", [1 << 62, 4], 0, 4) + "}", buffer: one)),
            ("first not at 0", V.file("{" + V.entry("w", [1], 4, 8) + "}", buffer: one + one)),
            ("gap", V.file("{" + V.entry("a", [1], 0, 4) + "," + V.entry("b", [1], 8, 12) + "}", buffer: one + one + one)),
            ("overlap", V.file("{" + V.entry("a", [2], 0, 8) + "," + V.entry("b", [2], 4, 12) + "}", buffer: one + one + one)),
            ("truncated data", V.file("{" + V.entry("w", [2], 0, 8) + "}", buffer: one)),
            ("trailing bytes", V.file("{" + V.entry("w", [1], 0, 4) + "}", buffer: one + [7])),
        ]
        let accepted: [(String, Data)] = [
            ("padded header", V.file("{" + V.entry("a", [1], 0, 4) + "}     ", buffer: one)),
            ("null metadata", V.file(#"{"__metadata__":null}"#)),
            ("extra entry field", V.file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}"#, buffer: one)),
            ("zero-size and out-of-order", V.file("{" + V.entry("b", [1], 4, 8) + "," + V.entry("z", [0, 5], 4, 4) + ","
                                                  + V.entry("a", [1], 0, 4) + "}", buffer: one + one)),
            ("empty object", V.file("{}")),
        ]
        let dir = TestSupport.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (i, (_, data)) in (rejected + accepted).enumerated() {
            let url = dir.appendingPathComponent("\(i).safetensors")
            try data.write(to: url)
            paths.append(url.path)
        }
        let script = """
        import sys
        from safetensors.numpy import load_file
        for p in sys.argv[1:]:
            try:
                load_file(p); print("ok")
            except Exception:
                print("error")
        """
        let (status, out, err) = try Self.python(script, paths)
        XCTAssertEqual(status, 0, err)
        let verdicts = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(verdicts.count, rejected.count + accepted.count)
        for (i, (name, data)) in (rejected + accepted).enumerated() where i < verdicts.count {
            let shouldAccept = i >= rejected.count
            XCTAssertEqual(verdicts[i], shouldAccept ? "ok" : "error", "reference reader on \(name)")
            XCTAssertEqual((try? SafeTensors.decode(data)) != nil, shouldAccept, "our reader on \(name)")
        }
    }
}
