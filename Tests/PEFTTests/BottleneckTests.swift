import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// Bottleneck adapters against AdapterHub's `adapters` 1.3.0 (fixtures by Tools/make_bottleneck_fixtures.py).
final class BottleneckTests: XCTestCase {
    /// One fixture case: an adapter folder written by AdapterHub and what AdapterHub computed with it.
    private struct Case {
        struct Run: Decodable {
            let architecture: String
            let adapter_name: String
            let input_ids: [[Int]]
            let targets: [[Int]]
            let loss: Float
            let learning_rate: Float
            let weight_decay: Float
            let adamw_losses: [Float]
        }
        let name: String
        let run: Run
        let expected: SafetensorsFile

        var folder: URL { Fixtures.url("PEFTTests", "bottleneck/\(name)") }
        var adapter: URL { folder.appendingPathComponent("adapter") }
        var ids: [Int] { run.input_ids.flatMap { $0 } }
        var targets: [Int32] { run.targets.flatMap { $0.map(Int32.init) } }
        var input: ModelInput { ModelInput(tokens: ids, batchSize: run.input_ids.count) }

        init(_ name: String) throws {
            self.name = name
            let folder = Fixtures.url("PEFTTests", "bottleneck/\(name)")
            run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
            expected = try SafetensorsFile(contentsOf: folder.appendingPathComponent("expected.safetensors"))
        }

        func baseModel() throws -> any CausalLanguageModel {
            try LanguageModel.loadModel(from: Fixtures.tinyModel(run.architecture))
        }
    }

    private static let caseNames = ["llama-seq_bn", "llama-double_seq_bn", "gpt2-seq_bn", "gpt2-double_seq_bn",
                                    "llama-custom", "gpt2-custom", "gpt2-learned", "llama-par_bn"]

    private func cases() throws -> [Case] { try Self.caseNames.map(Case.init) }

    private func loss(_ model: any CausalLanguageModel, _ c: Case) throws -> Tensor {
        Tensor.crossEntropy(logits: try model.forward(c.input, cache: nil), targets: c.targets)
    }

    /// Loads the case's AdapterHub folder through the framework, under the name it was saved with.
    @discardableResult
    private func load(_ c: Case, into model: any CausalLanguageModel) throws -> any AdapterMethod {
        try Adapters.load(from: c.adapter, into: model, name: c.run.adapter_name)
    }

    private func configuration(at folder: URL) throws -> BottleneckConfiguration {
        try BottleneckConfiguration.decodeConfiguration(from: Data(contentsOf: folder.appendingPathComponent("adapter_config.json")))
    }

    private func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("tailor-bottleneck-\(UUID().uuidString)")
    }

    // MARK: - Against AdapterHub

    func testLogitsMatchAdapterHubForBothArchitecturesAndConfigs() throws {
        for c in try cases() {
            let model = try c.baseModel()
            let base = try model.forward(c.input, cache: nil).scalars
            let config = try load(c, into: model)
            XCTAssertNotNil(config as? BottleneckConfiguration, c.name)
            XCTAssertEqual(Adapters.names(in: model), [c.run.adapter_name])
            let got = try model.forward(c.input, cache: nil).scalars
            let want = try c.expected.tensor(named: "logits").scalars
            XCTAssertLessThan(maxAbsoluteError(got, want), 1e-4, c.name)
            XCTAssertGreaterThan(maxAbsoluteError(want, base), 1e-2, "\(c.name): the adapter must change the output")
        }
    }

    func testLocationsFollowTheConfiguration() throws {
        let counts = ["llama-seq_bn": 2, "llama-double_seq_bn": 4, "gpt2-seq_bn": 2, "gpt2-double_seq_bn": 4,
                      "llama-custom": 4, "gpt2-custom": 1, "gpt2-learned": 2, "llama-par_bn": 2]
        for c in try cases() {
            let model = try c.baseModel()
            try load(c, into: model)
            let used = model.adapterLayers(BottleneckAdapterSlot.self).filter { !$0.layer.adapters.isEmpty }
            XCTAssertEqual(used.count, counts[c.name], c.name)
        }
        let model = try Case("llama-custom").baseModel()
        try load(try Case("llama-custom"), into: model)
        let widths = model.adapterLayers(BottleneckAdapterSlot.self).map { $0.layer.adapters["custom"]!.bottleneckSize }
        XCTAssertEqual(widths, [4, 4, 8, 8], "reduction factor 8 by default, 4 in layer 1")
    }

    func testGradientsOfEveryAdapterParameterMatchAdapterHub() throws {
        for c in try cases() {
            let model = try c.baseModel()
            try load(c, into: model)
            Adapters.makeTrainable(c.run.adapter_name, in: model)
            let params = Adapters.parameters(of: c.run.adapter_name, in: model).map { (key: $0.path, parameter: $0.parameter) }
            let expectedKeys = c.expected.tensorNames.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) }
            XCTAssertEqual(params.map(\.key).sorted(), expectedKeys.sorted(), c.name)
            let l = try loss(model, c)
            XCTAssertEqual(l.item, c.run.loss, accuracy: 1e-5 * c.run.loss, c.name)
            let grads = l.gradients()
            XCTAssertEqual(grads.count, params.count, "\(c.name): only adapter parameters get gradients")
            for (key, p) in params {
                guard let g = grads[p] else { XCTFail("\(c.name): no gradient for \(key)"); continue }
                let want = try c.expected.tensor(named: "grad." + key).scalars
                let scale = max(1e-6, want.map { abs($0) }.max() ?? 0)
                XCTAssertLessThan(maxAbsoluteError(g.scalars, want) / scale, 1e-3, "\(c.name): \(key)")
            }
        }
    }

    func testTenAdamWStepsMatchAdapterHub() throws {
        for c in try cases() {
            let model = try c.baseModel()
            try load(c, into: model)
            Adapters.makeTrainable(c.run.adapter_name, in: model)
            let params = Adapters.parameters(of: c.run.adapter_name, in: model).map { (name: $0.path, parameter: $0.parameter) }
            let optimizer = Optimizer(.adamW(weightDecay: c.run.weight_decay))
            var losses: [Float] = []
            for _ in 0..<c.run.adamw_losses.count {
                let l = try loss(model, c)
                let grads = l.gradients()
                var byName: [String: Tensor] = [:]
                for (name, p) in params { byName[name] = grads[p] }
                optimizer.update(params, gradients: byName, learningRate: c.run.learning_rate)
                losses.append(l.item)
            }
            XCTAssertLessThan(maxRelativeError(losses, c.run.adamw_losses, floor: 0), 1e-4, "\(c.name): \(losses) vs \(c.run.adamw_losses)")
            XCTAssertLessThan(losses.last!, losses.first! - 0.1, "\(c.name): training must lower the loss")
        }
    }

    // MARK: - Files

    func testSaveThenLoadRoundTripsWithAdapterHubsKeysAndConfig() throws {
        let export = ProcessInfo.processInfo.environment["TAILOR_BOTTLENECK_EXPORT"].map { URL(fileURLWithPath: $0) }
        for c in try cases() {
            let model = try c.baseModel()
            try load(c, into: model)
            let before = try model.forward(c.input, cache: nil).scalars
            let dir = export?.appendingPathComponent(c.name) ?? temporaryFolder()
            defer { if export == nil { try? FileManager.default.removeItem(at: dir) } }
            try Adapters.save(c.run.adapter_name, of: model, to: dir.appendingPathComponent("adapter"))
            let written = try SafetensorsFile(contentsOf: dir.appendingPathComponent("adapter/adapter.safetensors"))
            let original = try SafetensorsFile(contentsOf: c.adapter.appendingPathComponent("adapter.safetensors"))
            XCTAssertEqual(written.tensorNames.sorted(), original.tensorNames.sorted(), c.name)
            XCTAssertEqual(try configuration(at: dir.appendingPathComponent("adapter")), try configuration(at: c.adapter), c.name)
            let fresh = try c.baseModel()
            try Adapters.load(from: dir.appendingPathComponent("adapter"), into: fresh, name: c.run.adapter_name)
            XCTAssertEqual(try fresh.forward(c.input, cache: nil).scalars, before, "\(c.name): identical logits after a round trip")
            if export != nil {
                let json = try JSONSerialization.data(withJSONObject: ["input_ids": c.run.input_ids, "logits": before.map(Double.init)])
                try json.write(to: dir.appendingPathComponent("logits.json"))
            }
        }
    }

    /// An adapter made and trained by Tailor survives save → load; with TAILOR_BOTTLENECK_EXPORT set it
    /// is also written for `Tools/make_bottleneck_fixtures.py --check` (load there).
    func testAdapterMadeAndTrainedHereRoundTrips() throws {
        let export = ProcessInfo.processInfo.environment["TAILOR_BOTTLENECK_EXPORT"].map { URL(fileURLWithPath: $0) }
        let configurations: [(String, String, BottleneckConfiguration)] = [
            ("tailor-llama-double_seq_bn", "llama", .doubleSeqBottleneck(reductionFactor: 8, nonLinearity: "gelu")),
            ("tailor-gpt2-seq_bn", "gpt2", .seqBottleneck(reductionFactor: 4, nonLinearity: "tanh")),
        ]
        let ids: [Int] = [5, 17, 42, 8, 77, 3, 60, 21]
        for (name, architecture, configuration) in configurations {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel(architecture))
            try Adapters.apply(configuration, to: model, name: "mine", seed: 12)
            let params = Adapters.parameters(of: "mine", in: model).map { (name: $0.path, parameter: $0.parameter) }
            let optimizer = Optimizer(.adamW(weightDecay: 0))
            for _ in 0..<5 {
                let l = Tensor.crossEntropy(logits: try model.forward(ModelInput(tokens: ids), cache: nil),
                                            targets: ids.dropFirst().map(Int32.init) + [Tensor.ignoreIndex])
                let grads = l.gradients()
                var byName: [String: Tensor] = [:]
                for (n, p) in params { byName[n] = grads[p] }
                optimizer.update(params, gradients: byName, learningRate: 0.05)
            }
            let before = try model.forward(ModelInput(tokens: ids), cache: nil).scalars
            let dir = export?.appendingPathComponent(name) ?? temporaryFolder()
            defer { if export == nil { try? FileManager.default.removeItem(at: dir) } }
            try Adapters.save("mine", of: model, to: dir.appendingPathComponent("adapter"))
            let fresh = try LanguageModel.loadModel(from: Fixtures.tinyModel(architecture))
            let config = try Adapters.load(from: dir.appendingPathComponent("adapter"), into: fresh, name: "mine") as? BottleneckConfiguration
            var expected = configuration
            (expected.hiddenSize, expected.modelType) = (32, architecture)
            XCTAssertEqual(config, expected, name)
            XCTAssertEqual(try fresh.forward(ModelInput(tokens: ids), cache: nil).scalars, before, name)
            if export != nil {
                let json = try JSONSerialization.data(withJSONObject: ["input_ids": [ids], "logits": before.map(Double.init)])
                try json.write(to: dir.appendingPathComponent("logits.json"))
            }
        }
    }

    func testConfigFileKeepsAdapterHubsTypes() throws {
        let model = try Case("gpt2-seq_bn").baseModel()
        try Adapters.apply(BottleneckConfiguration.seqBottleneck(), to: model, name: "fresh")
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Adapters.save("fresh", of: model, to: dir)
        let text = try String(contentsOf: dir.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"scaling\": 1.0"), "AdapterHub tells a constant scaling by its float type")
        XCTAssertTrue(text.contains("\"version\": \"adapters.1.3.0\""))
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        XCTAssertEqual(object?["model_type"] as? String, "gpt2")
        XCTAssertEqual(object?["hidden_size"] as? Int, 32)
        let theirs = try JSONSerialization.jsonObject(with: Data(contentsOf: try Case("gpt2-seq_bn").adapter
            .appendingPathComponent("adapter_config.json"))) as? [String: Any]
        XCTAssertEqual(Set((object?["config"] as? [String: Any] ?? [:]).keys), Set((theirs?["config"] as? [String: Any] ?? [:]).keys),
                       "every key AdapterHub writes")
        XCTAssertTrue(try AdapterFolder.identify(dir) is BottleneckConfiguration.Type, "the framework tells AdapterHub folders by their config block")
    }

    // MARK: - Behaviour

    func testAdapterOffIsTheBaseModelExactly() throws {
        for c in try cases() {
            let model = try c.baseModel()
            let base = try model.forward(c.input, cache: nil).scalars
            try load(c, into: model)
            let bypassed = try AdapterRouting.$selection.withValue(.base) { try model.forward(c.input, cache: nil).scalars }
            XCTAssertEqual(bypassed, base, c.name)
            try Adapters.setActiveAdapter(nil, in: model)
            XCTAssertEqual(try model.forward(c.input, cache: nil).scalars, base, c.name)
        }
    }

    func testCachedDecodingAppliesTheAdapterLikeTheFullPass() throws {
        for name in ["llama-double_seq_bn", "gpt2-seq_bn"] {
            let c = try Case(name)
            let model = try c.baseModel()
            try load(c, into: model)
            let row = Array(c.ids.prefix(c.run.input_ids[0].count))
            let full = try model.forward(ModelInput(tokens: row), cache: nil).scalars
            let d = model.description
            let cache = KVCache(layers: d.layerCount, batchSize: 1, kvHeads: d.kvHeadCount, headDimension: d.headDimension)
            var stepped: [Float] = try model.forward(ModelInput(tokens: Array(row.prefix(3))), cache: cache).scalars
            for token in row.dropFirst(3) { stepped += try model.forward(ModelInput(tokens: [token]), cache: cache).scalars }
            XCTAssertLessThan(maxAbsoluteError(stepped, full), 1e-4, name)
        }
    }

    func testPerRowSelectionMixesAdapterAndBaseInOneBatch() throws {
        let c = try Case("llama-double_seq_bn")
        let model = try c.baseModel()
        let base = try model.forward(c.input, cache: nil).scalars
        try load(c, into: model)
        let adapted = try model.forward(c.input, cache: nil).scalars
        let mixed = try AdapterRouting.$selection.withValue(.perRow([nil, c.run.adapter_name])) {
            try model.forward(c.input, cache: nil).scalars
        }
        let half = base.count / 2
        XCTAssertEqual(Array(mixed[..<half]), Array(base[..<half]), "row 0 uses the base model")
        XCTAssertLessThan(maxAbsoluteError(Array(mixed[half...]), Array(adapted[half...])), 1e-6, "row 1 uses the adapter")
    }

    func testApplyAddsTrainableAdaptersWithAdapterHubsShapesAndInitialisation() throws {
        let model = try Case("llama-seq_bn").baseModel()
        let base = try model.forward(ModelInput(tokens: [1, 2, 3]), cache: nil).scalars
        let paths = try Adapters.apply(BottleneckConfiguration.doubleSeqBottleneck(reductionFactor: 8), to: model, name: "h", seed: 4)
        XCTAssertEqual(paths, ["model.layers.0.attention_adapters", "model.layers.0.output_adapters",
                               "model.layers.1.attention_adapters", "model.layers.1.output_adapters"])
        let trainable = model.namedParameters().filter { $0.parameter.isTrainable }
        XCTAssertEqual(trainable.count, 16)
        XCTAssertTrue(trainable.allSatisfy { $0.name.contains(".adapters.h.") })
        XCTAssertEqual(try model.parameter(at: "model.layers.1.output_adapters.adapters.h.adapter_down.0.weight").shape, [4, 32])
        XCTAssertGreaterThan(maxAbsoluteError(try model.forward(ModelInput(tokens: [1, 2, 3]), cache: nil).scalars, base), 0,
                             "bert initialisation gives a non-zero up-projection")
        var zeroUp = BottleneckConfiguration.seqBottleneck()
        zeroUp.initWeights = "mam_adapter"
        try Adapters.apply(zeroUp, to: model, name: "z")
        XCTAssertEqual(try model.forward(ModelInput(tokens: [1, 2, 3]), cache: nil).scalars, base,
                       "mam_adapter starts with a zero up-projection: the adapter starts as a no-op")
        XCTAssertThrowsError(try Adapters.apply(BottleneckConfiguration.seqBottleneck(), to: model, name: "z")) {
            XCTAssertEqual($0 as? AdapterError, .adapterName("adapter 'z' already exists"))
        }
    }

    // MARK: - Bad input

    /// Copies a fixture adapter to a temporary folder and lets `edit` change its tensors.
    private func editedAdapter(_ c: Case, _ edit: (inout [String: Tensor]) throws -> Void) throws -> URL {
        let dir = temporaryFolder()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: c.adapter.appendingPathComponent("adapter_config.json"),
                                         to: dir.appendingPathComponent("adapter_config.json"))
        let file = try SafetensorsFile(contentsOf: c.adapter.appendingPathComponent("adapter.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in file.tensorNames { tensors[name] = try file.tensor(named: name) }
        try edit(&tensors)
        try SafetensorsWriter.write(tensors, to: dir.appendingPathComponent("adapter.safetensors"))
        return dir
    }

    private func assertIncompatible(_ dir: URL, _ model: any CausalLanguageModel, tensor: String, _ reason: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Adapters.load(from: dir, into: model), file: file, line: line) { error in
            guard case .incompatibleAdapter(let message) = error as? AdapterError else {
                return XCTFail("unexpected \(error)", file: file, line: line)
            }
            XCTAssertTrue(message.hasPrefix("'\(tensor)': "), "names the tensor: \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(reason), message, file: file, line: line)
        }
        XCTAssertTrue(Adapters.names(in: model).isEmpty, "nothing installed after a failed load", file: file, line: line)
    }

    func testTensorsThatDoNotFitTheModelGetErrorsNamingTheTensor() throws {
        let c = try Case("llama-seq_bn")
        let key = "model.layers.1.output_adapters.adapters.pfeiffer.adapter_up.weight"
        let wrongShape = try editedAdapter(c) { $0[key] = Tensor.zeros([32, 5]) }
        let extraLayer = try editedAdapter(c) {
            $0["model.layers.2.output_adapters.adapters.pfeiffer.adapter_up.bias"] = Tensor.zeros([32])
        }
        let missing = try editedAdapter(c) { $0[key] = nil }
        let wrongPlace = try editedAdapter(c) {
            $0["model.layers.0.attention_adapters.adapters.pfeiffer.adapter_up.bias"] = Tensor.zeros([32])
        }
        defer { for d in [wrongShape, extraLayer, missing, wrongPlace] { try? FileManager.default.removeItem(at: d) } }
        assertIncompatible(wrongShape, try c.baseModel(), tensor: key, "shape [32, 5], expected [32, 4]")
        assertIncompatible(extraLayer, try c.baseModel(), tensor: "model.layers.2.output_adapters.adapters.pfeiffer.adapter_up.bias",
                           "no decoder block")
        assertIncompatible(missing, try c.baseModel(), tensor: key, "missing")
        assertIncompatible(wrongPlace, try c.baseModel(), tensor: "model.layers.0.attention_adapters.adapters.pfeiffer.adapter_up.bias",
                           "no adapter at attention_adapters")
        // A Llama adapter on GPT-2: the first tensor GPT-2 needs is missing.
        assertIncompatible(c.adapter, try Case("gpt2-seq_bn").baseModel(),
                           tensor: "transformer.h.0.output_adapters.adapters.pfeiffer.adapter_down.0.weight", "missing")
    }

    private func config(_ edit: (inout [String: Any]) -> Void) throws -> Result<AdapterHubAdapterConfig, any Error> {
        let data = try Data(contentsOf: try Case("gpt2-seq_bn").adapter.appendingPathComponent("adapter_config.json"))
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var block = object["config"] as! [String: Any]
        edit(&block)
        object["config"] = block
        let edited = try JSONSerialization.data(withJSONObject: object)
        return Result { try JSONDecoder().decode(AdapterHubAdapterConfig.self, from: edited) }
    }

    func testUnsupportedOrUnknownSettingsGetTypedErrors() throws {
        var plain = BottleneckConfiguration.seqBottleneck(reductionFactor: 4, nonLinearity: "gelu_new")
        (plain.hiddenSize, plain.modelType, plain.modelName) = (32, "gpt2", "tiny-models/gpt2")
        XCTAssertEqual(try config { _ in }.get().configuration, plain)
        let cases: [(String, (inout [String: Any]) -> Void, AdapterError)] = [
            ("gating", { $0["use_gating"] = true }, .unsupported("use_gating: true")),
            ("phm", { $0["phm_layer"] = true }, .unsupported("phm_layer: true")),
            ("ln_before", { $0["ln_before"] = true }, .unsupported("ln_before: true")),
            ("post_add", { $0["residual_before_ln"] = "post_add" }, .unsupported("residual_before_ln 'post_add'")),
            ("invertible", { $0["inv_adapter"] = "nice" }, .unsupported("inv_adapter 'nice'")),
            ("lora", { $0["architecture"] = "lora" }, .unsupported("AdapterHub method 'lora' (only bottleneck adapters)")),
            ("unknown", { $0["frobnicate"] = 1 }, .unsupported("unknown setting 'frobnicate' in the adapter configuration")),
            ("scaling", { $0["scaling"] = "huge" }, .unsupported("scaling 'huge' (a number, \"learned\" or \"channel\")")),
            ("reduction", { $0["reduction_factor"] = 0 }, .invalidConfiguration("reduction_factor must be positive, got uniform(0.0)")),
            ("missing", { $0["mh_adapter"] = nil }, .invalidConfiguration("'mh_adapter' is missing")),
            ("type", { $0["dropout"] = "high" }, .invalidConfiguration("'dropout' is not a Float")),
        ]
        for (label, edit, expected) in cases {
            XCTAssertThrowsError(try config(edit).get(), label) { XCTAssertEqual($0 as? AdapterError, expected, label) }
        }
        XCTAssertThrowsError(try config { $0["non_linearity"] = "softsign" }.get()) { error in
            guard case .unsupported(let s) = error as? AdapterError else { return XCTFail("\(error)") }
            XCTAssertTrue(s.hasPrefix("non_linearity 'softsign' (supported: gelu, gelu_fast"), s)
        }
        // Through the framework: an AdapterHub folder of another AdapterHub method.
        let c = try Case("llama-seq_bn")
        let dir = try editedAdapter(c) { _ in }
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("adapter_config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        object["config"] = ["architecture": "lora", "r": 8]
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        XCTAssertThrowsError(try Adapters.load(from: dir, into: try c.baseModel())) {
            XCTAssertEqual($0 as? AdapterError, .unsupported("AdapterHub method 'lora' (only bottleneck adapters)"))
        }
    }

    /// What `tailor finetune --method bottleneck` reads from a config file's "adapter" section.
    func testConfigurationFromABareBlockOrAPresetName() throws {
        let bare = #"{"mh_adapter": true, "output_adapter": true, "reduction_factor": 8, "non_linearity": "swish"}"#
        XCTAssertEqual(try BottleneckConfiguration.decodeConfiguration(from: Data(bare.utf8)),
                       .doubleSeqBottleneck(reductionFactor: 8))
        XCTAssertEqual(try BottleneckConfiguration.decodeConfiguration(from: Data(#"{"config": "pfeiffer"}"#.utf8)), .seqBottleneck())
        XCTAssertEqual(try BottleneckConfiguration.decodeConfiguration(from: Data(#"{"config": "par_bn"}"#.utf8)), .parallelBottleneck())
        XCTAssertTrue(try AdapterRegistry.method(peftType: "bottleneck") is BottleneckConfiguration.Type)
        XCTAssertEqual(try BottleneckConfiguration.defaultConfiguration(), .seqBottleneck())
    }

    // MARK: - Finite differences

    /// The adapter's backward (activations without C kernels, layer norm, learned scaling, both
    /// residuals) against central differences of Σ y ⊙ R.
    func testAdapterBackwardMatchesFiniteDifferences() throws {
        for activation in ["relu", "leakyrelu", "sigmoid", "tanh", "gelu_new", "swish"] {
            var configuration = BottleneckConfiguration(
                attentionAdapter: false, outputAdapter: true, reductionFactor: .uniform(2), nonLinearity: activation,
                originalLayerNormBefore: true, residualBeforeLayerNorm: false, layerNormAfter: true, scaling: .channel)
            configuration.adapterResidualBeforeLayerNorm = activation == "relu"
            let adapter = try BottleneckAdapter(hiddenSize: 6, bottleneckSize: 3, configuration: configuration, seed: 7)
            var rng = SeededRandom(seed: 5)
            for (_, p) in adapter.localParameters { try p.assign(p.value + Tensor.normal(p.shape, std: 0.3, using: &rng)) }
            let h = Parameter(Tensor.normal([2, 6], using: &rng)), r = Parameter(Tensor.normal([2, 6], using: &rng))
            let weights = Tensor.normal([2, 6], using: &rng)
            func objective() -> Double {
                let y = adapter(h.tensor, residual: r.tensor).scalars
                return zip(y, weights.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            let grads = (adapter(h.tensor, residual: r.tensor) * weights).sum().gradients()
            for (name, p) in adapter.localParameters + [("h", h), ("r", r)] {
                guard let g = grads[p]?.scalars else { XCTFail("\(activation): no gradient for \(name)"); continue }
                let scale = max(1e-2, g.map { abs(Double($0)) }.max() ?? 0)
                for i in 0..<p.value.count {
                    let original = p.value
                    func at(_ delta: Float) throws -> Double {
                        var v = original.scalars
                        v[i] += delta
                        try p.assign(Tensor(shape: p.shape, values: v))
                        return GradientMode.withoutGradients { objective() }
                    }
                    let step: Float = 1e-2
                    let numeric = (try at(step) - at(-step)) / Double(2 * step)
                    try p.assign(original)
                    XCTAssertLessThan(abs(numeric - Double(g[i])) / scale, 5e-3, "\(activation): d/d\(name)[\(i)]")
                }
            }
        }
    }
}
