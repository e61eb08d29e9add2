import Model
import TestSupport
import XCTest

/// A cache made for another model is refused with a typed error before anything is written.
final class KVCacheValidationTests: XCTestCase {
    func testMismatchedCachesAreRefused() throws {
        for name in ArchitectureTests.names {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel(name))
            let d = model.description
            let wrong = [
                KVCache(layers: d.layerCount - 1, batchSize: 1, kvHeads: d.kvHeadCount, headDimension: d.headDimension),
                KVCache(layers: d.layerCount + 1, batchSize: 1, kvHeads: d.kvHeadCount, headDimension: d.headDimension),
                KVCache(layers: d.layerCount, batchSize: 1, kvHeads: d.kvHeadCount + 1, headDimension: d.headDimension),
                KVCache(layers: d.layerCount, batchSize: 1, kvHeads: d.kvHeadCount, headDimension: d.headDimension - 1),
                KVCache(layers: d.layerCount, batchSize: 1, kvHeads: d.kvHeadCount, headDimension: d.headDimension * 2),
                KVCache(layers: -3, batchSize: -1, kvHeads: -2, headDimension: -4),
            ]
            for cache in wrong {
                XCTAssertThrowsError(try model.forward(ModelInput(tokens: [1, 2, 3]), cache: cache), name) { error in
                    guard case ModelInputError.badShape = error else { return XCTFail("\(name): \(error)") }
                }
                XCTAssertEqual(cache.length, 0, "a refused cache is left untouched")
            }
            let right = model.makeCache()
            XCTAssertNoThrow(try model.validate(right))
            _ = try model.forward(ModelInput(tokens: [1, 2, 3]), cache: right)
            XCTAssertEqual(right.length, 3)
        }
    }
}
