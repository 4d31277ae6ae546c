import Foundation
import XCTest
import TestSupport
@testable import MediaIO

final class IDXTests: XCTestCase {
    func idxBytes(shape: [Int], fill: (Int) -> UInt8) -> [UInt8] {
        var b: [UInt8] = [0, 0, 8, UInt8(shape.count)]
        for n in shape { b += [UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] }
        let total = shape.reduce(1, *)
        b += (0..<total).map(fill)
        return b
    }

    func write(_ bytes: [UInt8], gzip: Bool, in dir: URL, name: String) throws -> URL {
        let raw = dir.appendingPathComponent(name)
        try Data(bytes).write(to: raw)
        guard gzip else { return raw }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-f", "-n", raw.path]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return dir.appendingPathComponent(name + ".gz")
    }

    func testReadsPlainAndGzipped() throws {
        let dir = TestSupport.temporaryDirectory()
        let bytes = idxBytes(shape: [3, 4, 5]) { UInt8($0 % 251) }
        for gz in [false, true] {
            let url = try write(bytes, gzip: gz, in: dir, name: "a\(gz)")
            let a = try IDXArray.read(url)
            XCTAssertEqual(a.shape, [3, 4, 5])
            XCTAssertEqual(a.bytes, (0..<60).map { UInt8($0 % 251) })
        }
    }

    func testFashionMNISTTestLabelsIfInstalled() throws {
        let url = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("dataset-fashion-mnist is not installed") }
        let a = try IDXArray.read(url)
        XCTAssertEqual(a.shape, [10000])
        XCTAssertEqual(Set(a.bytes), Set(0..<10))
        XCTAssertEqual(a.bytes.filter { $0 == 3 }.count, 1000)  // balanced test set
    }

    func expectReason(_ url: URL, _ name: String, maxBytes: Int = IDXArray.defaultMaxBytes, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try IDXArray.read(url, maxBytes: maxBytes), file: file, line: line) { e in
            guard let m = e as? MediaError else { return XCTFail("not a MediaError: \(e)", file: file, line: line) }
            XCTAssertEqual(m.reason.name, name, "\(m)", file: file, line: line)
            XCTAssertEqual(m.file, url.path, file: file, line: line)
        }
    }

    func testBadInputsGiveTypedErrors() throws {
        let dir = TestSupport.temporaryDirectory()
        let good = idxBytes(shape: [10, 8]) { UInt8($0 & 255) }
        expectReason(dir.appendingPathComponent("nope.idx"), "missing")
        expectReason(try write([], gzip: false, in: dir, name: "empty"), "empty")
        expectReason(try write(Array(good.dropLast(3)), gzip: false, in: dir, name: "short"), "truncated")
        expectReason(try write(Array(good.prefix(6)), gzip: false, in: dir, name: "header"), "truncated")
        expectReason(try write(good + [1, 2], gzip: false, in: dir, name: "long"), "corrupt")
        var magic = good; magic[0] = 7
        expectReason(try write(magic, gzip: false, in: dir, name: "magic"), "corrupt")
        var type = good; type[2] = 0x0D
        expectReason(try write(type, gzip: false, in: dir, name: "float"), "unsupported")
        // Extents whose product overflows.
        expectReason(try write([0, 0, 8, 4] + [UInt8](repeating: 255, count: 16), gzip: false, in: dir, name: "huge"), "corrupt")
        // Gzip: truncated stream, corrupted stream, decompression bomb beyond the limit.
        let gz = try Data(contentsOf: try write(good, gzip: true, in: dir, name: "g"))
        let cut = dir.appendingPathComponent("cut.gz"); try gz.prefix(gz.count - 12).write(to: cut)
        expectReason(cut, "truncated")
        var bad = [UInt8](gz); for i in 12..<min(bad.count - 8, 30) { bad[i] ^= 0x5A }
        let flipped = dir.appendingPathComponent("flipped.gz"); try Data(bad).write(to: flipped)
        XCTAssertThrowsError(try IDXArray.read(flipped))
        let big = try write(idxBytes(shape: [1 << 16]) { _ in 0 }, gzip: true, in: dir, name: "zeros")
        expectReason(big, "too_large", maxBytes: 4096)
    }
}
