import Tensor
import XCTest

/// glibc accepts the allocator settings `FreedMemoryRetention.enable()` asks for.
final class FreedMemoryRetentionTests: XCTestCase {
    func testGlibcTakesTheSettings() throws {
        #if os(Linux)
        XCTAssertTrue(FreedMemoryRetention.enable())
        #else
        XCTAssertFalse(FreedMemoryRetention.enable())
        #endif
    }
}
