import Foundation
import Model
import TestSupport
import XCTest

/// Rotary scaling read from GGUF files (Tools/make_rope_gguf_fixtures.py) and sliding windows.
final class RopeScalingGGUFTests: XCTestCase {
    private func gguf(_ name: String) -> URL { Fixtures.url("ModelTests", "gguf/\(name)") }

    /// A Llama 3.1-style GGUF (`rope_freqs.weight`) gives transformers' logits of the HF original.
    func testRopeFreqsTensorMatchesLlama3Scaling() throws {
        let model = try LanguageModel.loadModel(from: gguf("rope_llama3.gguf"))
        let expected = try ExpectedLogits.load(Fixtures.tinyModel("llama3-tied"))
        let logits = try model.forward(ModelInput(tokens: expected.flatIDs, batchSize: expected.input_ids.count), cache: nil)
        XCTAssertLessThan(maxAbsoluteError(logits.scalars, expected.logits), 1e-4)
        let llama = try XCTUnwrap(model as? LlamaModel)
        XCTAssertEqual(llama.configuration.ropeScaling?.type, "frequency_factors")
        // Both quantization modes accept it.
        XCTAssertNoThrow(try LanguageModel.loadModel(from: gguf("rope_llama3.gguf"), keepQuantized: true))
    }

    func testLinearScalingMetadataMatchesTransformers() throws {
        let model = try LanguageModel.loadModel(from: gguf("rope_linear.gguf"))
        let expected = try ExpectedLogits.load(gguf("rope_linear.json"))
        let logits = try model.forward(ModelInput(tokens: expected.flatIDs), cache: nil)
        XCTAssertLessThan(maxAbsoluteError(logits.scalars, expected.logits), 1e-4)
        XCTAssertEqual((model as? LlamaModel)?.configuration.ropeScaling, RopeScaling(type: "linear", factor: 2.5, originalMaxPositions: 16))
    }

    func testUnsupportedScalingIsATypedError() throws {
        XCTAssertThrowsError(try LanguageModel.loadModel(from: gguf("rope_yarn.gguf"))) { error in
            guard case ModelLoadError.invalidConfiguration(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("yarn"), why)
        }
    }

    /// Mistral's sliding window limits the usable context; positions beyond it are typed errors.
    func testSlidingWindowLimitsTheContext() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-window-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = Fixtures.tinyModel("llama")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as? [String: Any])
        config["model_type"] = "mistral"
        config["sliding_window"] = 6
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("model.safetensors"), to: folder.appendingPathComponent("model.safetensors"))

        let windowed = try LanguageModel.loadModel(from: folder)
        let full = try LanguageModel.loadModel(from: source)
        XCTAssertEqual(windowed.description.maxPositions, 6)
        let ids: [Int] = [5, 9, 2, 77, 31, 8]
        XCTAssertEqual(try windowed.forward(ModelInput(tokens: ids), cache: nil).scalars,
                       try full.forward(ModelInput(tokens: ids), cache: nil).scalars, "within the window nothing changes")
        XCTAssertThrowsError(try windowed.forward(ModelInput(tokens: ids + [4]), cache: nil)) {
            guard case ModelInputError.positionOutOfRange = $0 else { return XCTFail("\($0)") }
        }
        // Qwen2 configs carry sliding_window but only use it with use_sliding_window.
        config["model_type"] = "qwen2"
        config["use_sliding_window"] = false
        let qwen = try JSONDecoder().decode(LlamaConfiguration.self, from: JSONSerialization.data(withJSONObject: config))
        XCTAssertNil(qwen.slidingWindow)
    }
}
