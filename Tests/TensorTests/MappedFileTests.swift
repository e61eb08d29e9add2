import Foundation
@testable import Tensor
import XCTest

/// A mapped file's pages can be dropped from resident memory after a copy without changing what
/// the mapping reads, and a read after the drop sees the file's bytes again.
final class MappedFileTests: XCTestCase {
    func testReleasedPagesReadBackTheFileContents() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-mapped-\(getpid()).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        var rng = SeededRandom(seed: 11)
        let contents = (0..<(5 * 4096 + 123)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try Data(contents).write(to: url)
        let file = try MappedFile(url: url)
        XCTAssertEqual(Array(file.bytes), contents)
        // A region that starts and ends inside pages, one covering the whole file, and an empty one.
        for range in [1000..<(3 * 4096 + 7), 0..<contents.count, 50..<50] {
            file.releasePages(of: UnsafeRawBufferPointer(rebasing: file.bytes[range]))
            XCTAssertEqual(Array(file.bytes), contents, "\(range)")
        }
    }

    func testTensorsReadAfterTheirPagesWereReleasedAreUnchanged() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-mapped-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        var rng = SeededRandom(seed: 12)
        let a = Tensor.normal([300, 17], using: &rng), b = Tensor.normal([5000], using: &rng)
        try SafetensorsWriter.write(["a": a, "b": b], to: url)
        let file = try SafetensorsFile(contentsOf: url)
        for _ in 0..<2 {
            XCTAssertEqual(try file.tensor(named: "a").scalars, a.scalars)
            XCTAssertEqual(try file.tensor(named: "b").scalars, b.scalars)
        }
    }
}
