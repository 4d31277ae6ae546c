import Foundation
import SSMCore

/// Throughput of safetensors I/O on a 64 MiB checkpoint (4 tensors of 4,194,304 floats):
/// atomic F32 write (including fsync), F32 read from disk (memory-mapped), and in-memory decoding of
/// the same data stored as F16 and BF16 (conversion cost).
func safetensorsSuite() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ssm-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("bench.safetensors")

    var rng = SeededRNG(seed: 1)
    let perTensor = 1 << 22
    var tensors: [String: Tensor] = [:]
    for i in 0..<4 {
        tensors["layer.\(i).weight"] = Tensor(shape: [1024, perTensor / 1024], data: (0..<perTensor).map { _ in rng.uniform(-1, 1) })
    }
    let bytes = 4 * perTensor * 4

    func report(_ name: String, bytes: Int, seconds: Double) {
        let gbps = Double(bytes) / seconds / 1e9
        print("{\"suite\":\"safetensors\",\"case\":\"\(name)\",\"bytes\":\(bytes),\"seconds\":\(String(format: "%.4f", seconds)),\"GB_per_s\":\(String(format: "%.3f", gbps))}")
    }
    func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var t = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            t = min(t, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return t
    }

    report("write_f32_atomic", bytes: bytes, seconds: try best(3) { try SafeTensors.write(tensors, to: url) })
    var checksum: Float = 0
    report("read_f32", bytes: bytes, seconds: try best(3) {
        let f = try SafeTensors.read(url)
        checksum += f.tensors["layer.0.weight"]!.data[17]
    })

    // Same elements as 16-bit data: header built by hand, payload of raw bit patterns.
    for dtype in ["F16", "BF16"] {
        let count = 4 * perTensor
        let header = "{\"x\":{\"dtype\":\"\(dtype)\",\"shape\":[\(count)],\"data_offsets\":[0,\(2 * count)]}}"
        var data = Data(count: 8 + header.utf8.count + 2 * count)
        data.withUnsafeMutableBytes { out in
            out.storeBytes(of: UInt64(header.utf8.count).littleEndian, as: UInt64.self)
            for (i, c) in header.utf8.enumerated() { out[8 + i] = c }
            var r = SeededRNG(seed: 2)
            let base = 8 + header.utf8.count
            for i in 0..<count {
                // finite values only: exponent field below all-ones
                let bits = UInt16(truncatingIfNeeded: r.next()) & (dtype == "F16" ? 0xBBFF : 0xBF7F)
                out.storeBytes(of: bits.littleEndian, toByteOffset: base + 2 * i, as: UInt16.self)
            }
        }
        report("decode_\(dtype.lowercased())_to_f32", bytes: 2 * count, seconds: try best(3) {
            let f = try SafeTensors.decode(data)
            checksum += f.tensors["x"]!.data[5]
        })
    }
    if checksum.isNaN { print("") }  // keep the results observable
}
