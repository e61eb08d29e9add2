import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import XCTest

/// The framework's shared behaviour: per-row routing, initialisation options, prefix projection,
/// layer freezing.
final class AdapterFrameworkTests: XCTestCase {
    private func model(_ arch: String = "llama") throws -> any CausalLanguageModel {
        try LanguageModel.loadModel(from: Fixtures.tinyModel(arch))
    }

    private let ids: [Int] = [3, 14, 15, 92, 65, 35, 89]

    func testPerRowRoutingGivesEachRowItsOwnAdapterWithoutTouchingTheActiveOne() throws {
        for arch in ["llama", "gpt2"] {
            let m = try model(arch)
            try Adapters.load(from: Fixtures.url("PEFTTests", "methods/\(arch)-rslora/adapter"), into: m, name: "a")
            try Adapters.load(from: Fixtures.url("PEFTTests", "methods/\(arch)-lora-bias/adapter"), into: m, name: "b")
            try Adapters.load(from: Fixtures.url("PEFTTests", "methods/\(arch)-lora-save/adapter"), into: m, name: "s")
            try Adapters.load(from: Fixtures.url("PEFTTests", "methods/\(arch)-dora/adapter"), into: m, name: "c")
            func alone(_ name: String?) throws -> [Float] {
                try AdapterRouting.$selection.withValue(name.map { .perRow([$0]) } ?? .base) {
                    try m.forward(ModelInput(tokens: ids, logits: .last), cache: nil).scalars
                }
            }
            let names: [String?] = ["a", nil, "s", "c", "b", "b", "s"]
            let batch = try AdapterRouting.$selection.withValue(.perRow(names)) {
                try m.forward(ModelInput(tokens: Array(repeating: ids, count: names.count).flatMap { $0 }, batchSize: names.count, logits: .last), cache: nil).scalars
            }
            let v = m.description.vocabularySize
            for (r, name) in names.enumerated() {
                XCTAssertLessThan(maxAbsoluteError(Array(batch[(r * v)..<((r + 1) * v)]), try alone(name)), 1e-5, "\(arch) row \(r) (\(name ?? "base"))")
            }
            XCTAssertEqual(Adapters.activeAdapter(in: m), "c", "routing never changes the active adapter")
            XCTAssertGreaterThan(maxAbsoluteError(try alone("a"), try alone("b")), 1e-3)
            XCTAssertThrowsError(try Adapters.load(from: Fixtures.url("PEFTTests", "methods/\(arch)-ia3/adapter"), into: m, name: "d"),
                                 "one method per layer") { guard case .unsupported = $0 as? AdapterError else { return XCTFail("\($0)") } }
        }
    }

    func testModulesToSaveThatSelectNothingCopyableAreTypedErrors() throws {
        func attempt(_ arch: String, _ names: [String]) throws -> AdapterError? {
            var config = LoRAConfiguration(rank: 2, targetModules: .names([arch == "gpt2" ? "c_attn" : "q_proj"]))
            config.modulesToSave = names
            let m = try model(arch)
            let before = m.namedParameters().map(\.name)
            defer { XCTAssertEqual(m.namedParameters().map(\.name), before, "\(names): the model is left as it was") }
            do { try Adapters.apply(config, to: m); return nil } catch let e as AdapterError { return e }
        }
        for (arch, names) in [("llama", ["no_such_module"]), ("llama3-tied", ["lm_head"]), ("gpt2", ["wte"])] {
            guard case .noTargetModules(let message)? = try attempt(arch, names) else { return XCTFail("\(arch) \(names)") }
            XCTAssertTrue(message.contains(names[0]), message)
            if arch == "llama3-tied" { XCTAssertTrue(message.contains("tied"), message) }
        }
        guard case .unsupported? = try attempt("llama", ["q_proj"]) else { return XCTFail("a LoRA target cannot also be a saved copy") }
    }

    func testLoRAInitialisations() throws {
        let m = try model()
        var config = LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"]))
        try Adapters.apply(config, to: m, name: "zero")
        config.initialization = .random
        try Adapters.apply(config, to: m, name: "random")
        for (_, layer) in m.adapterLayers(LoRALinear.self) {
            XCTAssertEqual(layer.adapters["zero"]!.b.value.scalars.map(abs).max(), 0, "init_lora_weights true: B = 0")
            XCTAssertGreaterThan(layer.adapters["random"]!.b.value.scalars.map(abs).max() ?? 0, 0, "init_lora_weights false: B random")
        }
        let decoded = try JSONDecoder().decode(LoRAConfiguration.self, from: Data(#"{"init_lora_weights": false, "use_dora": true, "lora_bias": true}"#.utf8))
        XCTAssertEqual(decoded.initialization, .random)
        XCTAssertTrue(decoded.useDoRA && decoded.loraBias)
    }

    func testPromptTuningTextInitialisationRepeatsTheTextTokens() throws {
        let m = try model()
        var config = PromptTuningConfiguration(virtualTokenCount: 5, initialization: .text, initializationText: "x")
        config.initializationTokenIDs = [7, 9]
        try Adapters.apply(config, to: m)
        let table = try XCTUnwrap((m.sequencePrefix as? PromptEncoder)?.savedTable(of: "default"))
        let embedding = try m.parameter(at: "model.embed_tokens.weight").value
        let c = m.description.hiddenSize
        for (i, id) in [7, 9, 7, 9, 7].enumerated() {
            XCTAssertEqual(Array(table.scalars[(i * c)..<((i + 1) * c)]), Array(embedding.scalars[(id * c)..<((id + 1) * c)]))
        }
        XCTAssertThrowsError(try Adapters.apply(PromptTuningConfiguration(virtualTokenCount: 3, initialization: .text), to: try model()))
    }

    /// Prefix tuning with `prefix_projection`: the saved table is the MLP's output, it reloads to the
    /// same logits, and the MLP's gradients agree with finite differences.
    func testPrefixProjectionSavesItsTableAndHasCorrectGradients() throws {
        let m = try model()
        try Adapters.apply(PrefixTuningConfiguration(virtualTokenCount: 3, prefixProjection: true, encoderHiddenSize: 8), to: m, seed: 4)
        let trainable = Adapters.parameters(in: m)
        XCTAssertEqual(trainable.map(\.path).sorted(), ["prompt_encoder.default.embedding.weight",
                                                        "prompt_encoder.default.transform.0.bias", "prompt_encoder.default.transform.0.weight",
                                                        "prompt_encoder.default.transform.2.bias", "prompt_encoder.default.transform.2.weight"])
        let before = try m.forward(ModelInput(tokens: ids), cache: nil).scalars
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-prefix-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Adapters.save(of: m, to: dir)
        let fresh = try model()
        try Adapters.load(from: dir, into: fresh)
        XCTAssertLessThan(maxAbsoluteError(try fresh.forward(ModelInput(tokens: ids), cache: nil).scalars, before), 1e-5)

        func loss() throws -> Tensor {
            let logits = try m.forward(ModelInput(tokens: ids), cache: nil)
            return Tensor.crossEntropy(logits: logits, targets: ids.dropFirst().map(Int32.init) + [Tensor.ignoreIndex])
        }
        let grads = try loss().gradients()
        for (path, p) in trainable {
            let g = try XCTUnwrap(grads[p], path).scalars
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 4)) {
                let h: Float = 1e-2
                let original = p.value.scalars[i]
                func at(_ x: Float) throws -> Double {
                    p.update { $0[i] = x }
                    return Double(try GradientMode.withoutGradients { try loss() }.item)
                }
                let numeric = (try at(original + h) - (try at(original - h))) / Double(2 * h)
                p.update { $0[i] = original }
                XCTAssertLessThan(abs(Double(g[i]) - numeric), 2e-3 + 2e-2 * abs(numeric), "\(path)[\(i)]")
            }
        }
    }

    func testLayerFreezingRules() throws {
        let m = try model()
        try TrainableLayers.all.apply(to: m)
        XCTAssertEqual(m.parameterCount(trainableOnly: true), m.parameterCount(), "full fine-tuning trains everything")

        try TrainableLayers(trainTopBlocks: 1).apply(to: m)
        let top = m.namedParameters().filter { $0.parameter.isTrainable }.map(\.name)
        XCTAssertFalse(top.isEmpty)
        XCTAssertTrue(top.allSatisfy { $0.hasPrefix("model.layers.1.") }, "\(top)")

        try TrainableLayers(freezeBottomFraction: 0.5, freezePatterns: [#"mlp\."#]).apply(to: m)
        let upper = m.namedParameters().filter { $0.parameter.isTrainable }.map(\.name)
        XCTAssertTrue(upper.contains("lm_head.weight") && upper.contains("model.norm.weight"))
        XCTAssertFalse(upper.contains { $0.hasPrefix("model.layers.0.") || $0.contains("mlp.") || $0.contains("embed_tokens") })

        // LoRA in the middle plus the top block fully: one recipe, the adapter keeps training.
        let mixed = try model()
        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj"]), layersToTransform: [0]), to: mixed)
        try TrainableLayers(trainTopBlocks: 1).apply(to: mixed)
        let names = mixed.namedParameters().filter { $0.parameter.isTrainable }.map(\.name)
        XCTAssertTrue(names.contains("model.layers.0.self_attn.q_proj.lora_A.default.weight"))
        XCTAssertTrue(names.contains("model.layers.1.mlp.down_proj.weight"))
        XCTAssertFalse(names.contains("model.layers.0.mlp.down_proj.weight"))
        XCTAssertThrowsError(try TrainableLayers(freezeBottomFraction: 1.5).apply(to: mixed))
    }

    func testExportWritesTheBaseOfWrappedLayers() throws {
        let m = try model()
        try Adapters.apply(IA3Configuration(), to: m)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try ModelExport.save(m, to: dir)
        let file = try SafetensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(file.tensorNames.contains("model.layers.0.self_attn.k_proj.weight"), "a wrapped layer exports its base")
        XCTAssertFalse(file.tensorNames.contains { $0.contains("ia3") })
        let reloaded = try LanguageModel.loadModel(from: dir)
        let base = try model()
        XCTAssertEqual(try reloaded.forward(ModelInput(tokens: ids), cache: nil).scalars, try base.forward(ModelInput(tokens: ids), cache: nil).scalars)
    }
}
