import XCTest
final class S4NDTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
