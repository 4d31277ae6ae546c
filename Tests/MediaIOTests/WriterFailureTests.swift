import Foundation
import MediaIO
import TestSupport
import XCTest

/// Failed writes throw a ``MediaError`` naming the target and leave no file behind.
final class WriterFailureTests: XCTestCase {
    func testFailedWritesLeaveNothingBehind() throws {
        let folder = TestSupport.temporaryDirectory("writers")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = Image(channels: 3, height: 2, width: 2, pixels: [Float](repeating: 0.5, count: 12))
        let audio = AudioBuffer(sampleRate: 8000, channels: 1, frames: 4, samples: [0, 0.5, -0.5, 0])

        let noFolder = folder.appendingPathComponent("absent/out.png").path
        assertMediaError(try PNGFile.write(image, to: noFolder), file: noFolder, reasons: ["io"])
        let noFolderWAV = folder.appendingPathComponent("absent/out.wav").path
        assertMediaError(try AudioFile.write(audio, to: noFolderWAV), file: noFolderWAV, reasons: ["io"])

        // Invalid images are refused before anything is written.
        let fiveChannels = Image(channels: 5, height: 1, width: 1, pixels: [0, 0, 0, 0, 0])
        let refused = folder.appendingPathComponent("five.png").path
        assertMediaError(try PNGFile.write(fiveChannels, to: refused), file: refused, reasons: ["invalid_argument"])

        // A directory in the way of the final rename: the temporary file is removed.
        let blocked = folder.appendingPathComponent("blocked.wav")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inner"), withIntermediateDirectories: true)
        assertMediaError(try AudioFile.write(audio, to: blocked.path), file: blocked.path, reasons: ["io"])
        let blockedPNG = folder.appendingPathComponent("blocked.png")
        try FileManager.default.createDirectory(at: blockedPNG.appendingPathComponent("inner"), withIntermediateDirectories: true)
        assertMediaError(try PNGFile.write(image, to: blockedPNG.path), file: blockedPNG.path, reasons: ["io"])

        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertEqual(left, ["blocked.png", "blocked.wav"], "only the blocking folders remain: \(left)")
    }
}
