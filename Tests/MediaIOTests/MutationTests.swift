import Foundation
import MediaIO
import SSMCore
import TestSupport
import XCTest

/// Random byte mutations and truncations of every sample file, each decoded in full: the decoders
/// must either succeed or throw a ``MediaError`` naming the file — never crash or hang.
final class MutationTests: XCTestCase {
    func testRandomMutationsNeverCrash() throws {
        let start = Date()
        let folder = TestSupport.temporaryDirectory("mutations")
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = Tools.sampleFiles("images") + Tools.sampleFiles("audio") + Tools.sampleFiles("video")
        XCTAssertGreaterThanOrEqual(files.count, 18)
        var rng = SeededRNG(seed: 2024)
        var limits = MediaLimits.default
        limits.maxAudioSeconds = 30
        limits.maxVideoFrames = 200
        let total = 1200
        var decoded = 0, failed = 0
        var reasons: [String: Int] = [:]
        for n in 0..<total {
            let source = files[n % files.count]
            var data = try Data(contentsOf: URL(fileURLWithPath: source))
            switch rng.next() % 4 {
            case 0:  // truncate anywhere
                data = data.prefix(Int(rng.next() % UInt64(data.count)))
            case 1:  // a few random bytes
                for _ in 0..<(1 + rng.next() % 8) { data[Int(rng.next() % UInt64(data.count))] = UInt8(rng.next() % 256) }
            case 2:  // bytes in the header region
                for _ in 0..<(1 + rng.next() % 4) { data[Int(rng.next() % UInt64(min(data.count, 128)))] = UInt8(rng.next() % 256) }
            default:  // a run of garbage
                let at = Int(rng.next() % UInt64(data.count)), length = min(data.count - at, 1 + Int(rng.next() % 64))
                for i in at..<(at + length) { data[i] = UInt8(rng.next() % 256) }
            }
            let ext = (source as NSString).pathExtension
            let path = folder.appendingPathComponent("m\(n).\(ext)").path
            try data.write(to: URL(fileURLWithPath: path))
            do {
                switch try MediaProbe.probe(path, limits: limits) {
                case .image: _ = try ImageFile.read(path, limits: limits)
                case .audio: _ = try AudioFile.read(path, limits: limits)
                case .video: _ = try VideoFile.read(path, options: VideoDecodeOptions(width: 32, height: 24, threads: 1), limits: limits)
                }
                decoded += 1
            } catch let error as MediaError {
                XCTAssertEqual(error.file, path)
                failed += 1
                reasons[error.reason.name, default: 0] += 1
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        let seconds = Date().timeIntervalSince(start)
        print("mutations: \(total) (\(decoded) decoded, \(failed) typed errors \(reasons.sorted { $0.key < $1.key })) in \(String(format: "%.1f", seconds)) s")
        XCTAssertEqual(decoded + failed, total)
        XCTAssertGreaterThan(failed, total / 10)
        XCTAssertLessThan(seconds, 60)
    }
}
