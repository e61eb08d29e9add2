import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// The real default model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF) against transformers loading the
/// same file in fp32 (fixture from Tools/make_qwen_fixtures.py). Skipped when the model has not been
/// fetched into the cache (Scripts/fetch-default-model.sh).
final class DefaultModelTests: XCTestCase {
    struct Reference: Decodable {
        let text: String
        let ids: [Int]
        let logits_head: [Float]
        let top_ids: [Int]
        let top_logits: [Float]
        let greedy: [Int]
    }

    nonisolated(unsafe) static var shared: (any CausalLanguageModel)?

    private func model() throws -> any CausalLanguageModel {
        guard let url = Fixtures.defaultModel else { throw XCTSkip("default model not in the cache; run Scripts/fetch-default-model.sh") }
        if let m = Self.shared { return m }
        let m = try LanguageModel.loadModel(from: url)
        Self.shared = m
        return m
    }

    private func references() throws -> [String: Reference] {
        let url = Fixtures.url("ModelTests", "qwen-reference.json")
        return try JSONDecoder().decode([String: Reference].self, from: Data(contentsOf: url))
    }

    func testArchitectureFromGGUF() throws {
        let d = try model().description
        XCTAssertEqual(d, ModelDescription(modelType: "qwen2", vocabularySize: 151_936, hiddenSize: 896, layerCount: 24,
                                           headCount: 14, kvHeadCount: 2, headDimension: 64, maxPositions: 32_768))
    }

    /// Last-position logits agree with transformers to 2e-3 absolute (logits are ~±20: fp32 sums over
    /// 24 layers in a different order) and the top-20 tokens are the same set.
    func testLastPositionLogitsMatchTransformers() throws {
        let m = try model()
        for (name, ref) in try references().sorted(by: { $0.key < $1.key }) {
            let logits = try m.forward(ModelInput(tokens: ref.ids, logits: .last), cache: nil).scalars
            let err = maxAbsoluteError(Array(logits[0..<ref.logits_head.count]), ref.logits_head)
            XCTAssertLessThan(err, 2e-3, "\(name): max |Δ| over the first 2000 logits = \(err)")
            for (id, want) in zip(ref.top_ids, ref.top_logits) {
                XCTAssertEqual(logits[id], want, accuracy: 2e-3, "\(name): logit of token \(id)")
            }
            let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(20)
            XCTAssertEqual(Set(top), Set(ref.top_ids), name)
        }
    }

    /// 24 greedy tokens with the KV cache equal transformers' `generate(do_sample=False)`.
    func testGreedyTokensMatchTransformers() throws {
        let m = try model()
        for (name, ref) in try references().sorted(by: { $0.key < $1.key }) {
            let cache = m.makeCache(batchSize: 1, capacity: ref.ids.count + 24)
            var logits = try m.forward(ModelInput(tokens: ref.ids, logits: .last), cache: cache).scalars
            var out: [Int] = []
            for _ in 0..<ref.greedy.count {
                let next = logits.indices.max { logits[$0] < logits[$1] }!
                out.append(next)
                logits = try m.forward(ModelInput(tokens: [Int(next)], logits: .last), cache: cache).scalars
            }
            XCTAssertEqual(out, ref.greedy, name)
        }
    }
}
