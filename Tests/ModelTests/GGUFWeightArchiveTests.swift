import Foundation
import XCTest
import Model
import Tensor

/// GGUF → Hugging Face names and layouts, against the state dicts `transformers` loads from the
/// same tiny GGUF files (Tools/make_gguf_fixtures.py).
final class GGUFWeightArchiveTests: XCTestCase {
    func testLlamaMatchesTransformers() throws { try checkAgainstTransformers("llama") }
    func testQwen2MatchesTransformers() throws { try checkAgainstTransformers("qwen2") }
    func testGPT2MatchesTransformers() throws { try checkAgainstTransformers("gpt2") }

    private func checkAgainstTransformers(_ arch: String) throws {
        let archive = try GGUFWeightArchive(contentsOf: FormatFixtures.gguf("tiny_\(arch).gguf"))
        let reference = try SafetensorsFile(contentsOf: FormatFixtures.gguf("tiny_\(arch)_hf.safetensors"))
        XCTAssertEqual(Set(archive.tensorNames), Set(reference.tensorNames), arch)
        for name in reference.tensorNames {
            let expected = try reference.tensor(named: name)
            XCTAssertEqual(try archive.shape(of: name), expected.shape, name)
            assertClose(try archive.tensor(named: name), expected, tolerance: 0, "\(arch) \(name)")
        }

        let config = try FormatFixtures.json(FormatFixtures.gguf("tiny_\(arch)_config.json"))
        let p = archive.parameters
        XCTAssertEqual(p.architecture, config["model_type"] as? String)
        XCTAssertEqual(p.blockCount, config["num_hidden_layers"] as? Int)
        XCTAssertEqual(p.embeddingLength, config["hidden_size"] as? Int)
        XCTAssertEqual(p.feedForwardLength, config["intermediate_size"] as? Int)
        XCTAssertEqual(p.headCount, config["num_attention_heads"] as? Int)
        XCTAssertEqual(p.headCountKV, config["num_key_value_heads"] as? Int)
        XCTAssertEqual(p.vocabularySize, config["vocab_size"] as? Int)
        XCTAssertEqual(p.contextLength, config["max_position_embeddings"] as? Int)
        XCTAssertEqual(p.headDimension, p.embeddingLength / p.headCount)
        if arch == "gpt2" {
            XCTAssertEqual(p.layerNormEpsilon, (config["layer_norm_epsilon"] as? Double).map(Float.init))
            XCTAssertNil(p.rmsNormEpsilon)
        } else {
            XCTAssertEqual(p.rmsNormEpsilon, (config["rms_norm_eps"] as? Double).map(Float.init))
            XCTAssertEqual(p.ropeFreqBase, (config["rope_theta"] as? Double).map(Float.init))
        }
    }

    func testLlamaQueryRowsAreActuallyPermuted() throws {
        // Guards the test above: the stored GGUF rows differ from the Hugging Face rows.
        let archive = try GGUFWeightArchive(contentsOf: FormatFixtures.gguf("tiny_llama.gguf"))
        let stored = try archive.file.float32(named: "blk.0.attn_q.weight")
        let loaded = try archive.tensor(named: "model.layers.0.self_attn.q_proj.weight")
        XCTAssertEqual(stored.shape, loaded.shape)
        XCTAssertNotEqual(stored.scalars, loaded.scalars)
        XCTAssertEqual(stored.scalars.sorted(), loaded.scalars.sorted())
        XCTAssertEqual(archive.ggufName(for: "model.layers.0.self_attn.q_proj.weight"), "blk.0.attn_q.weight")
    }

    func testGPT2Conv1DWeightsAreInputMajor() throws {
        let archive = try GGUFWeightArchive(contentsOf: FormatFixtures.gguf("tiny_gpt2.gguf"))
        let hidden = archive.parameters.embeddingLength
        XCTAssertEqual(try archive.shape(of: "transformer.h.0.attn.c_attn.weight"), [hidden, 3 * hidden])
        XCTAssertEqual(try archive.file.tensorInfo(named: "blk.0.attn_qkv.weight").shape, [3 * hidden, hidden])
    }

    func testRejectsUnknownArchitectureAndNames() throws {
        assertThrows(GGUFError.unsupportedArchitecture("test")) {
            try GGUFWeightArchive(contentsOf: FormatFixtures.gguf("all_types.gguf"))
        }
        let archive = try GGUFWeightArchive(contentsOf: FormatFixtures.gguf("tiny_qwen2.gguf"))
        assertThrows(GGUFError.missingTensor("blk.0.attn_q.weight")) { try archive.tensor(named: "blk.0.attn_q.weight") }
        XCTAssertFalse(archive.contains("model.layers.9.mlp.up_proj.weight"))
        XCTAssertTrue(archive.contains("model.layers.1.mlp.up_proj.weight"))
    }
}
