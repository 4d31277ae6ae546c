import Foundation
import MediaIO
import TestSupport
import XCTest

/// File names that are not UTF-8: carried through strings byte for byte, listed, opened, reported escaped.
final class SystemPathTests: XCTestCase {
    func testBytesRoundTripAndDisplay() {
        let raw: [UInt8] = Array("bad".utf8) + [0xff, 0xc3] + Array("é-ok".utf8) + [0xe2, 0x82]
        let s = SystemPath.string(bytes: raw)
        XCTAssertEqual(SystemPath.bytes(s), raw)
        XCTAssertTrue(SystemPath.hasRawBytes(s))
        XCTAssertEqual(SystemPath.display(s), "bad\\xff\\xc3é-ok\\xe2\\x82")
        XCTAssertEqual(SystemPath.fromDisplay(SystemPath.display(s)), s)
        XCTAssertEqual(SystemPath.string(bytes: Array("plain é".utf8)), "plain é")
        XCTAssertEqual(SystemPath.display("plain é"), "plain é")
        XCTAssertEqual(SystemPath.fromDisplay("a\\x41b"), "a\\x41b", "ASCII bytes are never escaped, so \\x41 stays text")
    }

    func testANonUTF8FileIsListedAndRead() throws {
        let dir = TestSupport.temporaryDirectory("raw-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = SystemPath.string(bytes: Array("boot-".utf8) + [0xff, 0xfe] + Array(".png".utf8))
        let path = dir.path + "/" + name
        let png = try Data(contentsOf: URL(fileURLWithPath: "samples/images/fmnist-0-ankle-boot.png"))
        let fd = SystemPath.withCString(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = png.withUnsafeBytes { write(fd, $0.baseAddress, png.count) }
        close(fd)
        XCTAssertEqual(SystemPath.contents(dir.path), [name])
        XCTAssertEqual(SystemPath.status(path)?.size, png.count)
        let image = try ImageFile.read(path)
        XCTAssertEqual(image, try PNGFile.read("samples/images/fmnist-0-ankle-boot.png"))
        XCTAssertEqual(try MediaProbe.probe(path).kind, .image)
        // A missing name with raw bytes is "missing", and says which file.
        let missing = dir.path + "/" + SystemPath.string(bytes: [0x80, 0x2e, 0x70, 0x6e, 0x67])
        XCTAssertThrowsError(try PNGFile.read(missing)) { e in
            XCTAssertEqual((e as? MediaError)?.reason, .missing)
        }
    }
}
