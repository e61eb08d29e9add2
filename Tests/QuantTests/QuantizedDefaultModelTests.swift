import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// The default model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) kept quantized — every linear through the
/// integer block kernels (Q5_0, Q8_0, Q4_K, Q6_K) — against transformers' fp32 logits of the same
/// file (ModelTests' qwen-reference.json). Skipped when the model is not in the cache.
///
/// 8-bit activations move each product by up to absmax/254 per element; over 24 layers that shows
/// as logit differences of a few tenths on logits of ±20, far below the gap between the top
/// tokens, so the top tokens must agree and the first greedy steps agree up to near-ties.
final class QuantizedDefaultModelTests: XCTestCase {
    struct Reference: Decodable {
        let ids: [Int]
        let top_ids: [Int]
        let top_logits: [Float]
        let greedy: [Int]
    }

    func testQuantizedLogitsAndGreedyTokensMatchTransformers() throws {
        guard let url = Fixtures.defaultModel else { throw XCTSkip("default model not in the cache; run Scripts/fetch-default-model.sh") }
        let model = try LanguageModel.loadModel(from: url, keepQuantized: true)
        let refs = try JSONDecoder().decode([String: Reference].self,
                                            from: Data(contentsOf: Fixtures.url("ModelTests", "qwen-reference.json")))
        for (name, ref) in refs.sorted(by: { $0.key < $1.key }) {
            let cache = model.makeCache(batchSize: 1, capacity: ref.ids.count + 8)
            var logits = try model.forward(ModelInput(tokens: ref.ids, logits: .last), cache: cache).scalars
            let top = logits.indices.max { logits[$0] < logits[$1] }!
            XCTAssertEqual(top, ref.top_ids.first, "\(name): top token")
            for (id, want) in zip(ref.top_ids, ref.top_logits).prefix(5) {
                XCTAssertEqual(logits[id], want, accuracy: 0.75, "\(name): logit of token \(id)")
            }
            // The next greedy steps, fed transformers' tokens: each must be the top token here, or
            // within `tie` of it (a near-tie that the 8-bit activations' rounding may settle either
            // way: "english" step 3 has two tokens 0.07 apart).
            let tie: Float = 0.25
            for (step, want) in ref.greedy.prefix(4).enumerated() {
                let best = logits.max()!
                XCTAssertGreaterThanOrEqual(logits[want], best - tie, "\(name): greedy step \(step), token \(want)")
                logits = try model.forward(ModelInput(tokens: [want], logits: .last), cache: cache).scalars
            }
        }
    }
}
