import XCTest
final class MediaIOTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
