import Foundation
@testable import Model
import PEFT
import Quant
import Tensor
import TestSupport
import XCTest

/// GGUF export (merged models and llama.cpp LoRA files) read back with Tailor's own GGUF reader.
/// llama.cpp's side is checked by Tools/check_gguf_export.py.
final class GGUFExportTests: XCTestCase {
    private var scratch: URL!
    private let ids: [Int] = [3, 14, 15, 92, 65, 35, 89, 1, 0, 95]
    private static let llamaTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    private static let gpt2Targets = ["c_attn", "c_proj", "c_fc"]

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-gguf-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    private func logits(_ model: any CausalLanguageModel, _ tokens: [Int]? = nil) throws -> [Float] {
        try model.forward(ModelInput(tokens: tokens ?? ids), cache: nil).scalars
    }

    /// A fixture model with a fresh LoRA whose A and B are both random, so it changes the output.
    private func adapted(_ name: String, rsLoRA: Bool = false) throws -> any CausalLanguageModel {
        let model = try LanguageModel.loadModel(from: Fixtures.tinyModel(name))
        let targets = name == "gpt2" ? Self.gpt2Targets : Self.llamaTargets
        try Adapters.apply(LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(targets), useRSLoRA: rsLoRA,
                                             initialization: .random), to: model, seed: 11)
        return model
    }

    private func scale(_ values: [Float]) -> Float { values.map(abs).max() ?? 1 }

    func testMergedModelRoundTripsForEveryArchitectureAndType() throws {
        for name in ["llama", "qwen2", "llama3-tied", "gpt2"] {
            let model = try adapted(name)
            let base = try { () throws -> [Float] in
                try Adapters.setActiveAdapter(nil, in: model)
                defer { try? Adapters.setActiveAdapter("default", in: model) }
                return try logits(model)
            }()
            let unmerged = try logits(model)
            XCTAssertGreaterThan(maxAbsoluteError(unmerged, base), 1e-2 * scale(base), "\(name): the adapter must matter")
            for (type, bound) in [(GGUFExport.WeightType.f32, Float(1e-5)), (.f16, 1e-2), (.bf16, 5e-2), (.q8_0, 5e-2)] {
                let url = scratch.appendingPathComponent("\(name)-\(type.rawValue).gguf")
                try Adapters.exportGGUF(model, to: url, weightType: type, source: Fixtures.tinyModel(name))
                let loaded = try LanguageModel.loadModel(from: url)
                let got = try logits(loaded)
                let error = maxAbsoluteError(got, unmerged)
                XCTAssertLessThanOrEqual(error, bound * scale(unmerged), "\(name) \(type): max |Δ| \(error)")
                if type == .f32 {
                    XCTAssertEqual(maxAbsoluteError(got, try logits(model)), 0, accuracy: 1e-6 * scale(unmerged), "\(name): F32 = the merged model")
                }
            }
        }
    }

    func testBlockTypesStoreTheCodecRoundTripOfTheMergedWeights() throws {
        let model = try adapted("qwen2")
        for type in [GGUFExport.WeightType.q8_0, .q5_0, .q4_0] {
            let url = scratch.appendingPathComponent("qwen2-\(type.rawValue).gguf")
            try Adapters.exportGGUF(model, to: url, weightType: type)
            let file = try GGUFFile(contentsOf: url)
            let lora = try XCTUnwrap(try model.module(at: "model.layers.1.mlp.up_proj") as? LoRALinear)
            let merged = try XCTUnwrap(lora.base as? Linear).weight.value.scalars
            var bytes = [UInt8](repeating: 0, count: try XCTUnwrap(type.ggmlType.byteCount(forValues: merged.count)))
            var expected = [Float](repeating: .nan, count: merged.count)
            try merged.withUnsafeBufferPointer { m in try bytes.withUnsafeMutableBytes { try type.ggmlType.quantize(m, into: $0) } }
            try bytes.withUnsafeBytes { b in try expected.withUnsafeMutableBufferPointer { try type.ggmlType.dequantize(b, count: merged.count, into: $0.baseAddress!) } }
            XCTAssertEqual(try file.tensorInfo(named: "blk.1.ffn_up.weight").type, type.ggmlType)
            XCTAssertEqual(try file.float32(named: "blk.1.ffn_up.weight").scalars, expected, "\(type)")
            XCTAssertGreaterThan(maxAbsoluteError(expected, merged), 0, "\(type) is lossy, so this compares real codes")
        }
    }

    /// K-quant export: matrices with rows of whole 256-value blocks get the K type, with exactly the
    /// encoder's bytes; others get llama-quantize's 32-value fallback (then F16); vectors stay F32.
    func testKQuantExportPicksTypesLikeLlamaQuantizeAndRoundTrips() throws {
        // Rows of 256 (hidden size) for the projections and embeddings, of 96 for down_proj.
        let c = LlamaConfiguration(modelType: "qwen2", vocabularySize: 64, hiddenSize: 256, intermediateSize: 96, layerCount: 1,
                                   headCount: 4, kvHeadCount: 2, attentionBias: true)
        let model = try LlamaModel(configuration: c, seed: 5)
        let reference = try logits(model, [3, 14, 15, 9, 2, 6])
        var errors: [GGUFExport.WeightType: Float] = [:]
        for (type, fallback, fileType) in [(GGUFExport.WeightType.q4_K, GGMLType.q5_0, 14), (.q5_K, .q5_1, 16), (.q6_K, .q8_0, 18)] {
            let url = scratch.appendingPathComponent("k-\(type.rawValue).gguf")
            try GGUFExport.save(model, to: url, weightType: type)
            let file = try GGUFFile(contentsOf: url)
            XCTAssertEqual(file["general.file_type"]?.int, fileType)
            for info in file.tensors {
                let expected: GGMLType = info.dimensions.count == 1 ? .f32 : (info.dimensions[0] % 256 == 0 ? type.ggmlType : fallback)
                XCTAssertEqual(info.type, expected, "\(type) \(info.name)")
            }
            XCTAssertEqual(try file.tensorInfo(named: "blk.0.ffn_down.weight").type, fallback)
            let weight = try XCTUnwrap(try model.module(at: "model.layers.0.mlp.up_proj") as? Linear).weight.value.scalars
            var bytes = [UInt8](repeating: 0, count: try XCTUnwrap(type.ggmlType.byteCount(forValues: weight.count)))
            var expected = [Float](repeating: .nan, count: weight.count)
            try weight.withUnsafeBufferPointer { m in try bytes.withUnsafeMutableBytes { try type.ggmlType.quantize(m, into: $0) } }
            try bytes.withUnsafeBytes { b in try expected.withUnsafeMutableBufferPointer { try type.ggmlType.dequantize(b, count: weight.count, into: $0.baseAddress!) } }
            XCTAssertEqual(try file.float32(named: "blk.0.ffn_up.weight").scalars, expected, "\(type)")
            let got = try logits(try LanguageModel.loadModel(from: url), [3, 14, 15, 9, 2, 6])
            errors[type] = maxAbsoluteError(got, reference)
            XCTAssertLessThanOrEqual(errors[type]!, 0.15 * scale(reference), "\(type)")
        }
        XCTAssertGreaterThan(errors[.q4_K]!, errors[.q6_K]!, "fewer bits, larger error")
        XCTAssertGreaterThan(errors[.q6_K]!, 0)
        // A row that is not whole 32-value blocks either falls back to F16.
        let odd = try Tensor(shape: [2, 40], values: [Float](repeating: 1, count: 80))
        XCTAssertEqual(GGUFExport.storageType(for: odd, weightType: .q4_K), .f16)
        XCTAssertEqual(GGUFExport.storageType(for: try Tensor(shape: [512], values: [Float](repeating: 1, count: 512)), weightType: .q6_K), .f32)
    }

    func testMetadataAndTensorLayout() throws {
        let model = try adapted("llama")
        let url = scratch.appendingPathComponent("llama-q8.gguf")
        try Adapters.exportGGUF(model, to: url, weightType: .q8_0, source: Fixtures.tinyModel("llama"))
        let file = try GGUFFile(contentsOf: url)
        let c = try XCTUnwrap(model as? LlamaModel).configuration
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.architecture, "llama")
        XCTAssertEqual(file["general.type"]?.string, "model")
        XCTAssertEqual(file["general.file_type"]?.int, 7)
        XCTAssertEqual(file["general.quantization_version"]?.int, 2)
        XCTAssertEqual(file["llama.block_count"]?.int, c.layerCount)
        XCTAssertEqual(file["llama.embedding_length"]?.int, c.hiddenSize)
        XCTAssertEqual(file["llama.feed_forward_length"]?.int, c.intermediateSize)
        XCTAssertEqual(file["llama.attention.head_count"]?.int, c.headCount)
        XCTAssertEqual(file["llama.attention.head_count_kv"]?.int, c.kvHeadCount)
        XCTAssertEqual(file["llama.context_length"]?.int, c.maxPositions)
        XCTAssertEqual(file["llama.rope.freq_base"]?.float, c.ropeTheta)
        XCTAssertEqual(file["llama.attention.layer_norm_rms_epsilon"]?.float, c.rmsNormEpsilon)
        XCTAssertEqual(file["llama.vocab_size"]?.int, c.vocabularySize)
        XCTAssertEqual(file["tokenizer.ggml.model"]?.string, "none", "a folder without tokenizer.json has no vocabulary")
        XCTAssertEqual(file.tensors.first?.name, "token_embd.weight")
        XCTAssertEqual(file.tensors.last?.name, "output.weight")
        XCTAssertEqual(file.tensors.count, 2 + 1 + 9 * c.layerCount, "embedding, norm, head and 9 tensors per block")
        for info in file.tensors {
            XCTAssertEqual(info.offset % file.alignment, 0, info.name)
            let expected: GGMLType = info.dimensions.count == 1 ? .f32 : (info.dimensions[0] % 32 == 0 ? .q8_0 : .f16)
            XCTAssertEqual(info.type, expected, info.name)
        }
        XCTAssertEqual(try file.tensorInfo(named: "blk.0.attn_k.weight").shape, [c.kvHeadCount * c.headDimension, c.hiddenSize])
    }

    func testGPT2KeepsItsLayoutAndTiesTheHead() throws {
        let model = try adapted("gpt2")
        let url = scratch.appendingPathComponent("gpt2.gguf")
        try Adapters.exportGGUF(model, to: url, weightType: .f16)
        let file = try GGUFFile(contentsOf: url)
        let c = try XCTUnwrap(model as? GPT2Model).configuration
        XCTAssertEqual(file["gpt2.attention.layer_norm_epsilon"]?.float, c.layerNormEpsilon)
        XCTAssertEqual(file["gpt2.feed_forward_length"]?.int, c.mlpSize)
        XCTAssertNil(try? file.tensorInfo(named: "output.weight"), "GPT-2's head is tied")
        XCTAssertEqual(try file.tensorInfo(named: "blk.1.attn_qkv.weight").shape, [3 * c.hiddenSize, c.hiddenSize], "[out, in] like a linear layer")
        XCTAssertEqual(try file.tensorInfo(named: "position_embd.weight").shape, [c.maxPositions, c.hiddenSize])
    }

    func testTokenizerFromAFolderAndFromAGGUF() throws {
        let cli = Fixtures.url("GenerateTests", "cli")
        let folder = cli.appendingPathComponent("tiny-qwen2")
        let model = try LanguageModel.loadModel(from: folder)
        try Adapters.load(from: cli.appendingPathComponent("adapter"), into: model)
        let url = scratch.appendingPathComponent("tiny-qwen2.gguf")
        try Adapters.exportGGUF(model, to: url, weightType: .f32, source: folder)
        let original = try TokenizerLoader.loadPretrained(from: folder)
        let exported = try TokenizerLoader.loadGGUF(url)
        let file = try GGUFFile(contentsOf: url)
        XCTAssertEqual(file["tokenizer.ggml.model"]?.string, "gpt2")
        XCTAssertEqual(file["tokenizer.ggml.pre"]?.string, "qwen2")
        XCTAssertEqual(exported.vocabularySize, model.description.vocabularySize)
        for text in ["Hello world, 123 4567!", "<|im_start|>user\nsalut ça va?<|im_end|>", "  spaces\n\n and\ttabs"] {
            XCTAssertEqual(exported.encode(text, addSpecialTokens: true), original.encode(text, addSpecialTokens: true), text)
        }
        XCTAssertEqual(exported.eosTokenID, original.eosTokenID)
        XCTAssertEqual(exported.padTokenID, original.padTokenID)
        XCTAssertEqual(exported.chatTemplate, original.chatTemplate)
        XCTAssertNotNil(exported.chatTemplate)

        // From a GGUF source the tokenizer and descriptive keys are carried over as they are.
        let sourceGGUF = Fixtures.url("ModelTests", "gguf/tiny_qwen2.gguf")
        let fromGGUF = scratch.appendingPathComponent("from-gguf.gguf")
        try GGUFExport.save(try LanguageModel.loadModel(from: sourceGGUF), to: fromGGUF, weightType: .f16, source: sourceGGUF)
        let source = try GGUFFile(contentsOf: sourceGGUF), copy = try GGUFFile(contentsOf: fromGGUF)
        XCTAssertEqual(copy["tokenizer.ggml.tokens"], source["tokenizer.ggml.tokens"])
        XCTAssertEqual(copy["general.name"], source["general.name"])
    }

    func testLoRAAdapterFileHasLlamaCppKeysShapesAndScale() throws {
        for (name, rsLoRA) in [("llama", true), ("qwen2", false), ("gpt2", true)] {
            let model = try adapted(name, rsLoRA: rsLoRA)
            let url = scratch.appendingPathComponent("\(name)-lora.gguf")
            try Adapters.exportLoRAGGUF(of: model, to: url)
            let file = try GGUFFile(contentsOf: url)
            XCTAssertEqual(file["general.type"]?.string, "adapter")
            XCTAssertEqual(file["adapter.type"]?.string, "lora")
            XCTAssertEqual(file["adapter.lora.alpha"]?.float, 8)
            XCTAssertEqual(file["general.architecture"]?.string, name == "gpt2" ? "gpt2" : name)
            let layers = model.adapterLayers(LoRALinear.self)
            XCTAssertEqual(file.tensors.count, 2 * layers.count)
            let family: GGUFTensorNaming.Family = name == "gpt2" ? .gpt2 : .llama(permutedQK: name == "llama")
            let c = (model as? LlamaModel)?.configuration
            for (path, layer) in layers {
                let ad = try XCTUnwrap(layer.adapters["default"])
                let gguf = try XCTUnwrap(GGUFTensorNaming.gguf(path + ".weight", family: family), path)
                let a = try file.float32(named: gguf + ".lora_a"), storedB = try file.float32(named: gguf + ".lora_b")
                XCTAssertEqual(a.shape, [4, layer.inFeatures], path)
                XCTAssertEqual(storedB.shape, [layer.outFeatures, 4], path)
                var b = storedB
                if name == "llama", let c, gguf.contains("attn_q") { b = try WeightLayout.unpermuteRotaryRows(b, heads: c.headCount, name: gguf) }
                if name == "llama", let c, gguf.contains("attn_k") { b = try WeightLayout.unpermuteRotaryRows(b, heads: c.kvHeadCount, name: gguf) }
                // llama.cpp computes (alpha / r)·B·A; it must equal the layer's own s·B·A.
                let llamaCpp = Tensor.matmul(b, a).scalars.map { $0 * 8 / 4 }
                let tailor = Tensor.matmul(ad.b.value, ad.a.value).scalars.map { $0 * ad.scale }
                XCTAssertLessThan(maxAbsoluteError(llamaCpp, tailor), 1e-5 * scale(tailor), "\(name) \(path)")
                XCTAssertEqual(maxAbsoluteError(a.scalars, ad.a.value.scalars), 0, path)
            }
        }
    }

    func testUnsupportedCasesThrowTypedErrors() throws {
        let methods = Fixtures.url("PEFTTests", "methods")
        // Prompt tuning adds a learned prefix: nothing to merge.
        let prompt = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        try Adapters.load(from: methods.appendingPathComponent("llama-prompt/adapter"), into: prompt)
        let target = scratch.appendingPathComponent("never.gguf")
        XCTAssertThrowsError(try Adapters.exportGGUF(prompt, to: target)) { XCTAssertTrue($0 is AdapterError, "\($0)") }
        XCTAssertThrowsError(try GGUFExport.save(prompt, to: target)) {
            guard case .unsupportedModel = $0 as? GGUFExportError else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))

        // DoRA and IA3 merge, but llama.cpp's LoRA files have no place for them.
        for method in ["llama-dora", "llama-ia3"] {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
            try Adapters.load(from: methods.appendingPathComponent("\(method)/adapter"), into: model)
            XCTAssertThrowsError(try Adapters.exportLoRAGGUF(of: model, to: target)) {
                guard case .unsupported = $0 as? AdapterError else { return XCTFail("\(method): \($0)") }
            }
        }
        let bare = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
        XCTAssertThrowsError(try Adapters.exportLoRAGGUF(of: bare, to: target)) {
            guard case .adapterName = $0 as? AdapterError else { return XCTFail("\($0)") }
        }

        // A SentencePiece tokenizer.json has no byte-level BPE form.
        let folder = scratch.appendingPathComponent("spm-llama")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: Fixtures.tinyModel("llama").appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        try FileManager.default.copyItem(at: Fixtures.url("ModelTests", "tokenizers/sentencepiece-llama2/tokenizer.json"),
                                         to: folder.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try GGUFExport.save(bare, to: target, source: folder)) {
            guard case .unsupportedTokenizer = $0 as? GGUFExportError else { return XCTFail("\($0)") }
        }

        // Writer-level checks.
        var writer = GGUFWriter()
        XCTAssertThrowsError(try writer.add("x", Tensor.zeros([2, 20]), as: .q8_0)) {
            guard case .invalidTensor = $0 as? GGUFExportError else { return XCTFail("\($0)") }
        }
        try writer.add("x", Tensor.zeros([2, 32]), as: .q8_0)
        XCTAssertThrowsError(try writer.add("x", Tensor.zeros([4]), as: .f32))
        XCTAssertThrowsError(try writer.add("k", Tensor.zeros([2, 128]), as: .q6_K)) {
            guard case .invalidTensor = $0 as? GGUFExportError else { return XCTFail("\($0)") }
        }
        try writer.add("k", Tensor.zeros([2, 256]), as: .q6_K)
        writer.set("mixed", .array([.int32(1), .string("a")]))
        XCTAssertThrowsError(try writer.write(to: target)) {
            guard case .invalidMetadata = $0 as? GGUFExportError else { return XCTFail("\($0)") }
        }
        writer.remove("mixed")
        XCTAssertThrowsError(try writer.write(to: scratch.appendingPathComponent("missing-dir/x.gguf"))) {
            guard case .cannotWrite = $0 as? GGUFExportError else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
    }

    func testWriterRoundTripsMetadataValuesAndAlignment() throws {
        var writer = GGUFWriter()
        writer.alignment = 64
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(7)), ("i8", .int8(-7)), ("u16", .uint16(700)), ("i16", .int16(-700)), ("u32", .uint32(70_000)),
            ("i32", .int32(-70_000)), ("f32", .float32(1.5)), ("bool", .bool(true)), ("s", .string("héllo")),
            ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))), ("f64", .float64(0.1)),
            ("arr", .array([.string("a"), .string("b")])), ("nested", .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])])),
            ("empty", .array([])),
        ]
        for (k, v) in values { writer.set(k, v) }
        writer.set("u8", .uint8(9))
        let t = try Tensor(shape: [3, 32], values: (0..<96).map { Float($0) / 7 })
        try writer.add("t", t, as: .f32)
        try writer.add("h", t, as: .f16)
        let url = scratch.appendingPathComponent("values.gguf")
        try writer.write(to: url)
        let file = try GGUFFile(contentsOf: url)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(Array(file.metadataKeys.prefix(values.count)), values.map(\.0), "keys keep their order")
        for (k, v) in values where k != "u8" { XCTAssertEqual(file[k], v, k) }
        XCTAssertEqual(file["u8"], .uint8(9))
        XCTAssertEqual(try file.float32(named: "t").scalars, t.scalars)
        XCTAssertEqual(try file.tensorInfo(named: "h").dimensions, [32, 3])
        XCTAssertLessThan(maxAbsoluteError(try file.float32(named: "h").scalars, t.scalars), 1e-2)
    }
}
