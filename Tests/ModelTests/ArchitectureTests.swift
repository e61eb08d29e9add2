import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// Tiny GPT-2, Llama (GQA), Llama-3 (scaled RoPE, tied head) and Qwen2 (q/k/v biases) models
/// saved by transformers: Tailor's logits must match transformers' (eager attention), and cached
/// decoding must equal recomputation.
final class ArchitectureTests: XCTestCase {
    static let names = ["gpt2", "llama", "llama3-tied", "qwen2"]

    func testLogitsMatchTransformers() throws {
        for name in Self.names {
            let folder = Fixtures.tinyModel(name)
            let model = try LanguageModel.loadModel(from: folder)
            let expected = try ExpectedLogits.load(folder)
            let b = expected.input_ids.count
            let logits = try model.forward(ModelInput(tokens: expected.flatIDs, batchSize: b), cache: nil)
            XCTAssertEqual(logits.shape, [b * expected.logits_shape[1], expected.logits_shape[2]], name)
            let err = maxAbsoluteError(logits.scalars, expected.logits)
            XCTAssertLessThan(err, 1e-4, "\(name): max |Δlogit| \(err)")
        }
    }

    func testCachedDecodingEqualsRecompute() throws {
        for name in Self.names {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel(name))
            let ids: [Int] = [5, 17, 3, 88, 42, 9, 61, 2]
            let full = try model.forward(ModelInput(tokens: ids), cache: nil).scalars
            let v = model.description.vocabularySize
            // Prefill 3 tokens in one chunk, then one token at a time.
            let cache = model.makeCache(batchSize: 1, capacity: 2)
            var stepped = try model.forward(ModelInput(tokens: Array(ids[0..<3])), cache: cache).scalars
            XCTAssertEqual(cache.length, 3)
            for i in 3..<ids.count {
                stepped += try model.forward(ModelInput(tokens: [ids[i]]), cache: cache).scalars
                XCTAssertEqual(cache.length, i + 1, "the cache grows by exactly the tokens fed")
            }
            XCTAssertEqual(stepped.count, ids.count * v)
            XCTAssertLessThan(maxAbsoluteError(stepped, full), 1e-4, name)
        }
    }

    func testLastPositionLogitsAndLeftPaddedBatch() throws {
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("qwen2"))
        let a: [Int] = [4, 8, 15, 16, 23], b: [Int] = [42, 7, 1]
        let alone = try model.forward(ModelInput(tokens: b, logits: .last), cache: nil).scalars
        // Left-pad b to a's length; positions restart at 0 after the padding.
        let padded: [Int] = [0, 0] + b
        let input = ModelInput(tokens: a + padded, batchSize: 2, positions: [0, 1, 2, 3, 4, 0, 0, 0, 1, 2],
                               keyStart: [0, 2], logits: .last)
        let both = try model.forward(input, cache: nil)
        XCTAssertEqual(both.shape, [2, 96])
        let v = 96
        XCTAssertLessThan(maxAbsoluteError(Array(both.scalars[v...]), alone), 1e-4)
        let aAlone = try model.forward(ModelInput(tokens: a, logits: .last), cache: nil).scalars
        XCTAssertLessThan(maxAbsoluteError(Array(both.scalars[..<v]), aAlone), 1e-4)
    }

    func testParametersAreAddressableByHuggingFacePath() throws {
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        let q = try model.parameter(at: "model.layers.1.self_attn.q_proj.weight")
        XCTAssertEqual(q.shape, [32, 32])
        XCTAssertEqual(try model.parameter(at: "lm_head.weight").shape, [96, 32])
        XCTAssertThrowsError(try model.parameter(at: "model.layers.9.self_attn.q_proj.weight"))
        XCTAssertEqual(model.parameterCount(), 21664)
    }

    func testBadInputsAreTypedErrors() throws {
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [1, 96]), cache: nil)) {
            XCTAssertEqual($0 as? ModelInputError, .tokenOutOfRange(id: 96, vocabularySize: 96))
        }
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [1, 2, 3], batchSize: 2), cache: nil))
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [Int](repeating: 1, count: 65)), cache: nil))
    }

    /// Sizes that are not positive, or so large that products of them would overflow, are refused
    /// by validation (fuzz: a GPT-2 `n_inner` of −31 reached the weight initialiser).
    func testImplausibleSizesAreRefusedByValidation() throws {
        func fails(_ json: String, as type: (some Decodable & ValidatableConfiguration).Type) {
            XCTAssertThrowsError(try JSONDecoder().decode(type, from: Data(json.utf8)).validate(), json) {
                guard case .invalidConfiguration = $0 as? ModelLoadError else { return XCTFail("\(json): \($0)") }
            }
        }
        let gpt2 = #"{"model_type": "gpt2", "vocab_size": 97, "n_embd": 32, "n_head": 4, "n_layer": 2, "n_positions": 64"#
        fails(gpt2 + #", "n_inner": -31}"#, as: GPT2Configuration.self)
        fails(gpt2 + #", "n_inner": 0}"#, as: GPT2Configuration.self)
        fails(#"{"model_type": "gpt2", "vocab_size": 97, "n_embd": 4611686018427387904, "n_head": 4, "n_layer": 2, "n_positions": 64}"#,
              as: GPT2Configuration.self)
        var llama = try String(contentsOf: Fixtures.tinyModel("llama").appendingPathComponent("config.json"), encoding: .utf8)
        llama = llama.replacingOccurrences(of: "\"intermediate_size\": 48", with: "\"intermediate_size\": 4611686018427387904")
        fails(llama, as: LlamaConfiguration.self)
    }

    func testUnknownArchitectureAndMissingFilesAreTypedErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-arch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try LanguageModel.loadModel(from: dir)) {
            guard case .missingFile = $0 as? ModelLoadError else { return XCTFail("\($0)") }
        }
        try #"{"model_type": "mamba", "vocab_size": 10}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: Fixtures.tinyModel("llama").appendingPathComponent("model.safetensors"),
                                         to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try LanguageModel.loadModel(from: dir)) {
            XCTAssertEqual($0 as? ModelLoadError, .unsupportedArchitecture("mamba"))
        }
        // A config whose sizes do not fit the weights: a shape error naming the tensor.
        var config = try String(contentsOf: Fixtures.tinyModel("llama").appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: "\"intermediate_size\": 48", with: "\"intermediate_size\": 40")
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LanguageModel.loadModel(from: dir)) {
            guard case .shapeMismatch(let name, _, _) = $0 as? WeightLoadError else { return XCTFail("\($0)") }
            XCTAssertTrue(name.contains("mlp"))
        }
    }
}

/// A configuration with a `validate()` (both architectures').
protocol ValidatableConfiguration { func validate() throws }
extension GPT2Configuration: ValidatableConfiguration {}
extension LlamaConfiguration: ValidatableConfiguration {}
