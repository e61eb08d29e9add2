import Foundation
import XCTest
import Model
import Quant
import Tensor

/// The real default model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M), when it is cached: metadata and
/// dequantized values against what gguf-py read from the same file (Tools/make_gguf_fixtures.py).
/// Timings are printed, never asserted.
final class DefaultModelFormatTests: XCTestCase {
    private func openDefaultModel() throws -> GGUFFile {
        let url = FormatFixtures.defaultModel
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("default model not cached; run Scripts/fetch-default-model.sh")
        }
        let start = Date()
        let file = try GGUFFile(contentsOf: url)
        print("[formats] opened default model in \(String(format: "%.3f", Date().timeIntervalSince(start))) s")
        return file
    }

    func testMetadataMatchesGGUFPy() throws {
        let file = try openDefaultModel()
        let reference = try FormatFixtures.json(FormatFixtures.gguf("qwen_real.json"))
        let p = try GGUFWeightArchive(file: file).parameters
        XCTAssertEqual(p.architecture, reference["architecture"] as? String)
        XCTAssertEqual(p.blockCount, reference["block_count"] as? Int)
        XCTAssertEqual(p.embeddingLength, reference["embedding_length"] as? Int)
        XCTAssertEqual(p.feedForwardLength, reference["feed_forward_length"] as? Int)
        XCTAssertEqual(p.headCount, reference["head_count"] as? Int)
        XCTAssertEqual(p.headCountKV, reference["head_count_kv"] as? Int)
        XCTAssertEqual(p.contextLength, reference["context_length"] as? Int)
        XCTAssertEqual(p.vocabularySize, reference["vocab_size"] as? Int)
        XCTAssertEqual(p.rmsNormEpsilon, (reference["rms_norm_eps"] as? Double).map(Float.init))
        XCTAssertEqual(p.ropeFreqBase, (reference["rope_freq_base"] as? Double).map(Float.init))
        XCTAssertEqual(file["tokenizer.ggml.merges"]?.array?.count, reference["merges"] as? Int)
        XCTAssertEqual(file.tensors.count, reference["tensor_count"] as? Int)
        var counts: [String: Int] = [:]
        for info in file.tensors { counts[info.type.name, default: 0] += 1 }
        XCTAssertEqual(counts, reference["type_counts"] as? [String: Int])
    }

    func testDequantizedValuesMatchGGUFPy() throws {
        let file = try openDefaultModel()
        let reference = try FormatFixtures.json(FormatFixtures.gguf("qwen_real.json"))
        let first = try SafetensorsFile(contentsOf: FormatFixtures.gguf("qwen_real_first256.safetensors"))
        let cases = try XCTUnwrap(reference["first256"] as? [String: [String: Any]])
        XCTAssertEqual(Set(cases.keys), ["Q4_K", "Q5_0", "Q6_K", "Q8_0"])
        for (type, entry) in cases {
            let name = try XCTUnwrap(entry["tensor"] as? String)
            let info = try file.tensorInfo(named: name)
            XCTAssertEqual(info.type.name, type)
            XCTAssertEqual(info.shape, entry["shape"] as? [Int])
            let values = try file.float32(named: name)
            XCTAssertEqual(values.shape, info.shape)
            assertClose(Array(values.scalars.prefix(256)), try first.tensor(named: name).scalars, type)
        }
    }

    /// Every tensor of the model dequantizes to as many finite values as its shape says (the
    /// timing lives in `tailor-bench dequantize`).
    func testEveryTensorDequantizesToFiniteValues() throws {
        let file = try openDefaultModel()
        for info in file.tensors {
            let tensor = try file.float32(named: info.name)
            XCTAssertEqual(tensor.count, info.shape.reduce(1, *), info.name)
            let finite = tensor.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) }
            XCTAssertTrue(finite, "\(info.name) (\(info.type.name)) has non-finite values")
        }
    }
}
