import Foundation
import MediaIO
import TestSupport
import XCTest

/// Runs command-line tools (ffmpeg, sox) for parity tests.
enum Tools {
    /// Standard output of `tool args…`; fails the test if it exits non-zero.
    static func run(_ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let result = try TestSupport.runProcess(URL(fileURLWithPath: "/usr/bin/env"), [tool] + arguments)
        if result.status != 0 {
            throw NSError(domain: "Tools", code: Int(result.status), userInfo: [
                NSLocalizedDescriptionKey: "\(tool) \(arguments.joined(separator: " ")) failed: \(result.err)"])
        }
        return result.out
    }

    /// Raw frames/samples as `ffmpeg -i path … -f <format> -` writes them.
    static func ffmpeg(_ path: String, _ options: [String]) throws -> [UInt8] {
        [UInt8](try run("ffmpeg", ["-nostdin", "-v", "error", "-i", path] + options + ["-"]))
    }

    static var samples: URL { TestSupport.samplesDirectory }

    /// Sample files in `samples/<kind>/`, sorted.
    static func sampleFiles(_ kind: String) -> [String] {
        let folder = samples.appendingPathComponent(kind)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0).path }
    }
}

/// Asserts that `body` throws a ``MediaError`` whose reason has `name` (one of `names`) and whose
/// file is `path`.
func assertMediaError<T>(_ body: @autoclosure () throws -> T, file path: String, reasons names: Set<String>,
                         file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a MediaError (\(names.sorted().joined(separator: "|"))) for \(path), got success", file: file, line: line)
    } catch let error as MediaError {
        XCTAssertEqual(error.file, path, file: file, line: line)
        XCTAssertTrue(names.contains(error.reason.name), "reason \(error.reason.name) (\(error)) not in \(names.sorted())",
                      file: file, line: line)
    } catch {
        XCTFail("expected a MediaError, got \(error)", file: file, line: line)
    }
}
