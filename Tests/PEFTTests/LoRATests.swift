import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import XCTest

/// LoRA against PEFT's own files and behaviour.
final class LoRATests: XCTestCase {
    private func tinyLlama() throws -> any CausalLanguageModel {
        try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
    }

    private let ids: [Int] = [3, 14, 15, 92, 65, 35, 89]

    private func logits(_ model: any CausalLanguageModel, _ tokens: [Int]? = nil) throws -> [Float] {
        try model.forward(ModelInput(tokens: tokens ?? ids), cache: nil).scalars
    }

    func testAdapterWrittenByPEFTGivesPEFTsLogits() throws {
        let model = try tinyLlama()
        let folder = Fixtures.url("PEFTTests", "peft-adapter")
        let config = try XCTUnwrap(try Adapters.load(from: folder, into: model) as? LoRAConfiguration)
        XCTAssertEqual(config.rank, 4)
        XCTAssertEqual(config.alpha, 8)
        XCTAssertEqual(model.adapterLayers(LoRALinear.self).count, 8, "q/k/v/o in 2 layers")
        let expected = try ExpectedLogits.load(folder)
        let got = try model.forward(ModelInput(tokens: expected.flatIDs, batchSize: expected.input_ids.count), cache: nil)
        XCTAssertLessThan(maxAbsoluteError(got.scalars, expected.logits), 1e-4)
    }

    func testMergedEqualsUnmergedAndDiffersFromBase() throws {
        let model = try tinyLlama()
        let base = try logits(model)
        try Adapters.load(from: Fixtures.url("PEFTTests", "peft-adapter"), into: model)
        let adapted = try logits(model)
        XCTAssertGreaterThan(maxAbsoluteError(adapted, base), 1e-3, "the adapter must change the output")
        try Adapters.merge(in: model)
        XCTAssertLessThan(maxAbsoluteError(try logits(model), adapted), 1e-4, "merged = unmerged")
        try Adapters.unmerge(in: model)
        XCTAssertLessThan(maxAbsoluteError(try logits(model), adapted), 1e-4)
        try Adapters.setActiveAdapter(nil, in: model)
        XCTAssertLessThan(maxAbsoluteError(try logits(model), base), 1e-5, "no adapter = base model")
    }

    func testSaveLoadRoundTripUsesPEFTKeyNames() throws {
        let model = try tinyLlama()
        var config = LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["q_proj", "v_proj", "down_proj"]))
        config.useRSLoRA = true
        try Adapters.apply(config, to: model, seed: 3)
        // Make B non-zero so the adapter matters.
        var rng = SeededRandom(seed: 9)
        for (_, layer) in model.adapterLayers(LoRALinear.self) {
            try layer.adapters["default"]!.b.assign(Tensor.normal(layer.adapters["default"]!.b.shape, std: 0.1, using: &rng))
        }
        let before = try logits(model)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-lora-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Adapters.save(of: model, to: dir)
        let file = try SafetensorsFile(contentsOf: dir.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertTrue(file.tensorNames.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"))
        XCTAssertTrue(file.tensorNames.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"))
        XCTAssertEqual(file.tensorNames.count, 12)
        let fresh = try tinyLlama()
        let loaded = try Adapters.load(from: dir, into: fresh) as? LoRAConfiguration
        XCTAssertEqual(loaded, config)
        XCTAssertLessThan(maxAbsoluteError(try logits(fresh), before), 1e-6)
    }

    func testOnlyAdapterParametersTrainAndGetGradients() throws {
        let model = try tinyLlama()
        let paths = try Adapters.apply(LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj"])), to: model)
        XCTAssertEqual(paths, ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                               "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"])
        let trainable = model.namedParameters().filter { $0.parameter.isTrainable }
        XCTAssertEqual(trainable.count, 8)
        XCTAssertTrue(trainable.allSatisfy { $0.name.contains("lora_") })
        let logits = try model.forward(ModelInput(tokens: ids), cache: nil)
        let loss = Tensor.crossEntropy(logits: logits, targets: ids.dropFirst().map(Int32.init) + [Tensor.ignoreIndex])
        let grads = loss.gradients()
        XCTAssertEqual(grads.count, 8, "gradients exist for the adapters only")
        // B starts at zero, so A's gradient is zero at first while B's is not.
        let layer = model.adapterLayers(LoRALinear.self)[0].layer
        XCTAssertGreaterThan(grads[layer.adapters["default"]!.b]!.scalars.map(abs).max()!, 0)
    }

    func testTargetSelection() throws {
        let model = try tinyLlama()
        XCTAssertEqual(LoRAConfiguration(targetModules: .allLinear).selection.paths(in: model) { $0 is any LinearLayer }.count, 14, "7 per layer, not lm_head")
        XCTAssertEqual(LoRAConfiguration(targetModules: .pattern(#".*\.1\.mlp\.(up|down)_proj"#)).selection.paths(in: model) { $0 is any LinearLayer },
                       ["model.layers.1.mlp.up_proj", "model.layers.1.mlp.down_proj"])
        XCTAssertEqual(LoRAConfiguration(targetModules: .names(["o_proj"]), layersToTransform: [1]).selection.paths(in: model) { $0 is any LinearLayer },
                       ["model.layers.1.self_attn.o_proj"])
        XCTAssertThrowsError(try Adapters.apply(LoRAConfiguration(targetModules: .names(["nope"])), to: model))
    }

    func testSeveralNamedAdaptersSwitchWithoutReloading() throws {
        let model = try tinyLlama()
        let base = try logits(model)
        try Adapters.load(from: Fixtures.url("PEFTTests", "peft-adapter"), into: model, name: "peft")
        let peft = try logits(model)
        try Adapters.apply(LoRAConfiguration(rank: 2, alpha: 2, targetModules: .names(["q_proj"])), to: model, name: "other")
        for (_, layer) in model.adapterLayers(LoRALinear.self) where layer.adapters["other"] != nil {
            try layer.adapters["other"]!.b.assign(Tensor.full(layer.adapters["other"]!.b.shape, 0.05))
        }
        let other = try logits(model)
        XCTAssertEqual(Adapters.names(in: model), ["other", "peft"])
        XCTAssertGreaterThan(maxAbsoluteError(other, peft), 1e-3)
        try Adapters.setActiveAdapter("peft", in: model)
        XCTAssertLessThan(maxAbsoluteError(try logits(model), peft), 1e-6)
        try Adapters.setActiveAdapter(nil, in: model)
        XCTAssertLessThan(maxAbsoluteError(try logits(model), base), 1e-6)
        XCTAssertThrowsError(try Adapters.setActiveAdapter("missing", in: model))
    }

    func testBadAdapterFilesAreTypedErrors() throws {
        let model = try tinyLlama()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-badlora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try Adapters.load(from: dir, into: model)) { guard case .notAnAdapterFolder = $0 as? AdapterError else { return XCTFail("\($0)") } }
        try #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]}"#
            .write(to: dir.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
        // A with the wrong input width.
        try SafetensorsWriter.write([
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": Tensor.zeros([4, 31]),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": Tensor.zeros([32, 4]),
        ], to: dir.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertThrowsError(try Adapters.load(from: dir, into: model)) { guard case .incompatibleAdapter = $0 as? AdapterError else { return XCTFail("\($0)") } }
        // A path that is not a linear layer.
        try SafetensorsWriter.write([
            "base_model.model.model.layers.0.input_layernorm.lora_A.weight": Tensor.zeros([4, 32]),
            "base_model.model.model.layers.0.input_layernorm.lora_B.weight": Tensor.zeros([32, 4]),
        ], to: dir.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertThrowsError(try Adapters.load(from: dir, into: model))
        try SafetensorsWriter.write([
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": Tensor.zeros([4, 32]),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": Tensor.zeros([32, 4]),
        ], to: dir.appendingPathComponent("adapter_model.safetensors"))
        try #"{"peft_type": "LORA", "r": 4, "use_dora": true}"#
            .write(to: dir.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Adapters.load(from: dir, into: model)) {
            guard case .incompatibleAdapter(let reason) = $0 as? AdapterError, reason.contains("use_dora") else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(model.adapterLayers(LoRALinear.self).count, 0, "a failed load leaves the model untouched")
    }
}
