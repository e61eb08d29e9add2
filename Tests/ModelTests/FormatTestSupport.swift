import Foundation
import XCTest
import Model
import Tensor

/// Fixture locations and helpers shared by the format tests.
enum FormatFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func gguf(_ name: String) -> URL { root.appendingPathComponent("gguf/\(name)") }
    static func safetensors(_ name: String) -> URL { root.appendingPathComponent("safetensors/\(name)") }

    static func json(_ url: URL) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let dictionary = object as? [String: Any] else { throw CocoaError(.fileReadCorruptFile) }
        return dictionary
    }

    /// The default model, when Scripts/fetch-default-model.sh has cached it.
    static var defaultModel: URL {
        let cache = ProcessInfo.processInfo.environment["TAILOR_CACHE"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tailor").path
        return URL(fileURLWithPath: cache).appendingPathComponent("models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    }
}

/// A scratch directory removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-formats-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Asserts two tensors have the same shape and values within `tolerance` (relative above 1).
func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-6, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(label): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    assertClose(actual.scalars, expected.scalars, tolerance: tolerance, label, file: file, line: line)
}

/// Asserts equal counts and values within `tolerance`; NaN must match NaN, infinities exactly.
func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-6, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(label): count", file: file, line: line)
    var worst: Float = 0
    for (a, e) in zip(actual, expected) {
        if e.isNaN || e.isInfinite {
            XCTAssertTrue(a.isNaN == e.isNaN && (e.isNaN || a == e), "\(label): expected \(e), got \(a)", file: file, line: line)
            continue
        }
        worst = max(worst, abs(a - e) / max(1, abs(e)))
    }
    XCTAssertLessThanOrEqual(worst, tolerance, "\(label): max difference \(worst)", file: file, line: line)
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<E: Error & Equatable>(_ expected: E, file: StaticString = #filePath, line: UInt = #line,
                                        _ body: () throws -> some Any) {
    do {
        _ = try body()
        XCTFail("expected \(expected), nothing thrown", file: file, line: line)
    } catch let error as E {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws an error of type `E` accepted by `matches`.
func assertThrows<E: Error>(_ type: E.Type, file: StaticString = #filePath, line: UInt = #line,
                            where matches: (E) -> Bool, _ body: () throws -> some Any) {
    do {
        _ = try body()
        XCTFail("expected \(E.self), nothing thrown", file: file, line: line)
    } catch let error as E {
        XCTAssertTrue(matches(error), "unexpected \(error)", file: file, line: line)
    } catch {
        XCTFail("expected \(E.self), got \(error)", file: file, line: line)
    }
}
