import XCTest
import MediaIO
import TestSupport

final class WAVStreamTests: XCTestCase {
    func testFileIsWrittenAtomicallyAndReadsBack() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("a.wav").path
        let w = try WAVStreamWriter(path: path, sampleRate: 8000)
        try w.write([0, 0.5, -0.5])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing at the target before finish()")
        try w.write([1, -1, 2])
        try w.finish()
        let a = try AudioFile.read(path)
        XCTAssertEqual(a.sampleRate, 8000); XCTAssertEqual(a.channels, 1); XCTAssertEqual(a.frames, 6)
        XCTAssertEqual(a.samples, [0, 0.5, -0.5, 32767 / 32768, -1, 32767 / 32768])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["a.wav"], "no temporary file left")
    }

    func testUnfinishedWriterLeavesNoFile() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("b.wav").path
        do {
            let w = try WAVStreamWriter(path: path, sampleRate: 16000)
            try w.write([0.1, 0.2])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testStreamHeaderHasUnknownSizes() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let w = try WAVStreamWriter(streamingTo: fds[1], sampleRate: 8000)
        try w.write([0.25])
        try w.finish()
        close(fds[1])
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &bytes, 64)
        close(fds[0])
        XCTAssertEqual(n, 46)
        XCTAssertEqual(Array(bytes[0..<4]), Array("RIFF".utf8))
        XCTAssertEqual(Array(bytes[4..<8]), [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(Array(bytes[36..<40]), Array("data".utf8))
        XCTAssertEqual(Array(bytes[40..<44]), [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(Array(bytes[44..<46]), [0x00, 0x20])   // 0.25 · 32768 = 8192
    }

    func testUnwritableFolderAndClosedPipeAreTypedErrors() throws {
        XCTAssertThrowsError(try WAVStreamWriter(path: "/nonexistent-dir/x.wav", sampleRate: 8000)) { e in
            XCTAssertEqual((e as? MediaError)?.reason.name, "io")
        }
        XCTAssertThrowsError(try WAVStreamWriter(path: "/tmp/x.wav", sampleRate: 0)) { e in
            XCTAssertEqual((e as? MediaError)?.reason.name, "invalid_argument")
        }
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        close(fds[0])
        XCTAssertThrowsError(try WAVStreamWriter(streamingTo: fds[1], sampleRate: 8000)) { e in
            XCTAssertTrue("\(e)".contains("closed pipe"), "\(e)")
        }
        close(fds[1])
    }
}
