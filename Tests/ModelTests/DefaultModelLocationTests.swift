import Foundation
import Model
import XCTest

/// The library finds the default model where Scripts/fetch-default-model.sh puts it.
final class DefaultModelLocationTests: XCTestCase {
    func testCacheFolderFollowsTailorCache() throws {
        let previous = ProcessInfo.processInfo.environment["TAILOR_CACHE"]
        defer { if let previous { setenv("TAILOR_CACHE", previous, 1) } else { unsetenv("TAILOR_CACHE") } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-cache-\(UUID().uuidString)")
        setenv("TAILOR_CACHE", folder.path, 1)
        XCTAssertEqual(DefaultModel.url.path, folder.appendingPathComponent("models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").path)
        XCTAssertFalse(DefaultModel.isAvailable)
        XCTAssertThrowsError(try DefaultModel.load()) {
            guard case ModelLoadError.missingFile(let path) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(path, DefaultModel.url.path)
        }
        unsetenv("TAILOR_CACHE")
        XCTAssertEqual(DefaultModel.cacheDirectory.path,
                       FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tailor").path)
        // The pinned hash is the fetch script's.
        let script = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Scripts/fetch-default-model.sh").standardized, encoding: .utf8)
        XCTAssertTrue(script.contains(DefaultModel.sha256))
        XCTAssertTrue(script.contains(DefaultModel.fileName))
    }
}
