import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// One test suite for every adapter method, against fixtures written by peft on the tiny GPT-2 and
/// tiny Llama (grouped-query attention) models (Tools/make_peft_method_fixtures.py).
///
/// Set `TAILOR_ROUNDTRIP_DIR` to also write each adapter as Tailor saves it, with Tailor's logits,
/// for Tools/check_adapter_roundtrip.py to load into peft.
final class AdapterMethodTests: XCTestCase {
    static let architectures = ["llama", "gpt2"]
    static let cases = ["rslora", "dora", "lora-bias", "ia3", "prompt", "prefix", "lora-save"]
    /// Cases that can be merged into the base weights (LoRA's bias needs a base bias to merge into).
    static let mergeable: Set<String> = ["llama-rslora", "llama-dora", "llama-ia3", "gpt2-rslora", "gpt2-dora", "gpt2-lora-bias", "gpt2-ia3",
                                          "llama-lora-save", "gpt2-lora-save"]

    struct Run: Decodable {
        let input_ids: [[Int]]
        let labels: [[Int]]
        let losses: [Float]
        let lr: Float
        let weight_decay: Float
        let max_grad_norm: Float
    }

    private func forEachCase(_ body: (_ name: String, _ arch: String, _ folder: URL) throws -> Void) throws {
        for arch in Self.architectures {
            for c in Self.cases {
                try body(c, arch, Fixtures.url("PEFTTests", "methods/\(arch)-\(c)"))
            }
        }
    }

    private func model(_ arch: String) throws -> any CausalLanguageModel { try LanguageModel.loadModel(from: Fixtures.tinyModel(arch)) }

    private func logits(_ model: any CausalLanguageModel, _ expected: ExpectedLogits) throws -> [Float] {
        try model.forward(ModelInput(tokens: expected.flatIDs, batchSize: expected.input_ids.count), cache: nil).scalars
    }

    private func batch(_ run: Run) -> TrainingBatch {
        TrainingBatch(inputIDs: run.input_ids.flatMap { $0 }, labels: run.labels.flatMap { $0 },
                      batchSize: run.input_ids.count)
    }

    func testLogitsMatchPEFT() throws {
        try forEachCase { name, arch, folder in
            let m = try model(arch)
            try Adapters.load(from: folder.appendingPathComponent("adapter"), into: m)
            let expected = try ExpectedLogits.load(folder)
            let got = try logits(m, expected)
            XCTAssertEqual(got.count, expected.logits.count, "\(arch)-\(name): one row per prompt token")
            XCTAssertLessThan(maxAbsoluteError(got, expected.logits), 1e-4, "\(arch)-\(name)")
        }
    }

    func testAdapterOffIsTheBaseModelAndMergedEqualsUnmerged() throws {
        try forEachCase { name, arch, folder in
            let m = try model(arch)
            let expected = try ExpectedLogits.load(folder)
            let base = try logits(m, expected)
            try Adapters.load(from: folder.appendingPathComponent("adapter"), into: m)
            let adapted = try logits(m, expected)
            XCTAssertGreaterThan(maxAbsoluteError(adapted, base), 1e-3, "\(arch)-\(name): the adapter must change the output")
            let routedBase = try AdapterRouting.$selection.withValue(.base) { try logits(m, expected) }
            XCTAssertEqual(routedBase, base, "\(arch)-\(name): routing to the base bypasses the adapter exactly")
            try Adapters.setActiveAdapter(nil, in: m)
            XCTAssertEqual(try logits(m, expected), base, "\(arch)-\(name): adapter off = base model exactly")
            try Adapters.setActiveAdapter("default", in: m)
            if Self.mergeable.contains("\(arch)-\(name)") {
                try Adapters.merge(in: m)
                XCTAssertLessThan(maxAbsoluteError(try logits(m, expected), adapted), 1e-4, "\(arch)-\(name): merged = unmerged")
                try Adapters.unmerge(in: m)
                XCTAssertLessThan(maxAbsoluteError(try logits(m, expected), adapted), 1e-4, "\(arch)-\(name): unmerged again")
            } else {
                XCTAssertThrowsError(try Adapters.merge(in: m), "\(arch)-\(name) has no merge")
            }
            try Adapters.setActiveAdapter(nil, in: m)
            XCTAssertLessThan(maxAbsoluteError(try logits(m, expected), base), 1e-5, "\(arch)-\(name): off again after merging")
        }
    }

    func testGradientsAndTenAdamWStepsMatchTorch() throws {
        try forEachCase { name, arch, folder in
            let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: folder.appendingPathComponent("run.json")))
            let m = try model(arch)
            try Adapters.load(from: folder.appendingPathComponent("adapter"), into: m)
            Adapters.makeTrainable(in: m)
            let config = TrainingConfiguration(maxSteps: 10, learningRate: run.lr, decay: .constant,
                                               optimizer: .adamW(weightDecay: run.weight_decay), maxGradientNorm: run.max_grad_norm)
            let trainer = try Trainer(model: m, configuration: config)
            let b = batch(run)
            let expected = try SafetensorsFile(contentsOf: folder.appendingPathComponent("step1-gradients.safetensors"))
            let grads = try trainer.gradients(of: b)
            XCTAssertEqual(grads.count, expected.tensorNames.count, "\(arch)-\(name): one gradient per adapter parameter")
            for (path, g) in grads {
                var key = path.replacingOccurrences(of: ".default", with: "")
                if !key.hasPrefix("prompt_encoder") { key = "base_model.model." + key }
                let want = try expected.tensor(named: key).scalars
                let scale = max(want.map(abs).max() ?? 1, 1e-6)
                XCTAssertLessThan(maxAbsoluteError(g.scalars, want) / scale, 1e-3, "\(arch)-\(name): \(key)")
            }
            let history = try trainer.fit(train: FixedBatches([b]))
            XCTAssertEqual(history.steps.count, 10)
            for (record, want) in zip(history.steps, run.losses) {
                XCTAssertLessThan(abs(record.loss - want) / want, 1e-4, "\(arch)-\(name) step \(record.step): \(record.loss) vs torch \(want)")
            }
        }
    }

    func testSaveAndLoadRoundTrip() throws {
        let export = ProcessInfo.processInfo.environment["TAILOR_ROUNDTRIP_DIR"].map { URL(fileURLWithPath: $0) }
        try forEachCase { name, arch, folder in
            let m = try model(arch)
            let loaded = try Adapters.load(from: folder.appendingPathComponent("adapter"), into: m)
            let expected = try ExpectedLogits.load(folder)
            let before = try logits(m, expected)
            let dir = export?.appendingPathComponent("\(arch)-\(name)")
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
            defer { if export == nil { try? FileManager.default.removeItem(at: dir) } }
            try Adapters.save(of: m, to: dir)
            let original = try SafetensorsFile(contentsOf: folder.appendingPathComponent("adapter/adapter_model.safetensors"))
            let written = try SafetensorsFile(contentsOf: dir.appendingPathComponent("adapter_model.safetensors"))
            XCTAssertEqual(Set(written.tensorNames), Set(original.tensorNames), "\(arch)-\(name): PEFT's key names")
            let fresh = try model(arch)
            let reloaded = try Adapters.load(from: dir, into: fresh)
            XCTAssertEqual(type(of: reloaded).peftType, type(of: loaded).peftType)
            XCTAssertEqual(try logits(fresh, expected), before, "\(arch)-\(name)")
            if let export {
                let json: [String: Any] = ["input_ids": expected.input_ids, "logits": before.map(Double.init), "architecture": arch]
                try JSONSerialization.data(withJSONObject: json).write(to: export.appendingPathComponent("\(arch)-\(name)/tailor_logits.json"))
            }
        }
    }

    /// Cached decoding with a learned prefix equals recomputing the whole sequence, and a left-padded
    /// row of a batch equals the same prompt alone.
    func testPrefixMethodsInCachedAndPaddedDecoding() throws {
        for arch in Self.architectures {
            for name in ["prompt", "prefix"] {
                let m = try model(arch)
                try Adapters.load(from: Fixtures.url("PEFTTests", "methods/\(arch)-\(name)/adapter"), into: m)
                let ids: [Int] = [5, 17, 33, 2, 71, 44, 9]
                let full = try m.forward(ModelInput(tokens: ids, logits: .last), cache: nil).scalars
                let cache = m.makeCache(capacity: 4)
                _ = try m.forward(ModelInput(tokens: Array(ids.prefix(4)), logits: .last), cache: cache)
                var last: [Float] = []
                for id in ids.dropFirst(4) { last = try m.forward(ModelInput(tokens: [id], logits: .last), cache: cache).scalars }
                XCTAssertLessThan(maxAbsoluteError(last, full), 1e-4, "\(arch)-\(name): cached = recomputed")

                // Row 1 is the 7-token prompt; row 0 a 4-token prompt left-padded by 3.
                let short: [Int] = [40, 41, 42, 43]
                let alone = try m.forward(ModelInput(tokens: short, logits: .last), cache: nil).scalars
                let padded = [0, 0, 0] + short + ids
                let positions: [Int] = [0, 0, 0, 0, 1, 2, 3] + (0..<7)
                let batchCache = m.makeCache(batchSize: 2, capacity: 8)
                let both = try m.forward(ModelInput(tokens: padded, batchSize: 2, positions: positions, keyStart: [3, 0], logits: .last),
                                         cache: batchCache).scalars
                let v = m.description.vocabularySize
                XCTAssertLessThan(maxAbsoluteError(Array(both[0..<v]), alone), 1e-4, "\(arch)-\(name): padded row = alone")
                XCTAssertLessThan(maxAbsoluteError(Array(both[v...]), full), 1e-4, "\(arch)-\(name): unpadded row")
            }
        }
    }

    func testFreshAdaptersOfEveryMethodTrainOnlyTheirParameters() throws {
        for arch in Self.architectures {
            for method in FineTuningMethod.allCases where method != .full {
                let m = try model(arch)
                guard let adapter = try method.defaultAdapter(for: m, rank: 2) else { continue }
                try Adapters.apply(adapter, to: m, seed: 1)
                let trainable = Set(m.namedParameters().filter { $0.parameter.isTrainable }.map { ObjectIdentifier($0.parameter) })
                let owned = Set(Adapters.parameters(in: m).map { ObjectIdentifier($0.parameter) })
                XCTAssertFalse(trainable.isEmpty, "\(arch)-\(method)")
                XCTAssertEqual(trainable, owned, "\(arch)-\(method): only the adapter trains")
                XCTAssertNotNil(Adapters.configuration(in: m), "\(arch)-\(method): the model remembers the configuration")
            }
        }
    }

    func testBadAdapterFoldersAreTypedErrors() throws {
        let m = try model("llama")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ config: String, _ tensors: [String: Tensor]) throws {
            try config.write(to: dir.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
            try SafetensorsWriter.write(tensors, to: dir.appendingPathComponent("adapter_model.safetensors"))
        }
        try write(#"{"peft_type": "VERA"}"#, [:])
        XCTAssertThrowsError(try Adapters.load(from: dir, into: m)) {
            guard case .unknownMethod("VERA", let supported) = $0 as? AdapterError, supported.contains("LORA") else { return XCTFail("\($0)") }
        }
        try write(#"{"config": {"architecture": "something"}, "name": "x"}"#, [:])
        XCTAssertThrowsError(try Adapters.load(from: dir, into: m)) {
            // An AdapterHub folder (bottleneck is registered) of an AdapterHub method Tailor lacks.
            guard case .unsupported(let s) = $0 as? AdapterError, s.contains("'something'") else { return XCTFail("\($0)") }
        }
        try write(#"{"peft_type": "PREFIX_TUNING", "num_virtual_tokens": 4}"#, ["prompt_embeddings": Tensor.zeros([4, 63])])
        XCTAssertThrowsError(try Adapters.load(from: dir, into: m)) {
            guard case .incompatibleAdapter(let s) = $0 as? AdapterError, s.contains("prompt_embeddings") else { return XCTFail("\($0)") }
        }
        try write(#"{"peft_type": "IA3", "target_modules": ["k_proj"]}"#, ["base_model.model.model.layers.5.self_attn.k_proj.ia3_l": Tensor.ones([16, 1])])
        XCTAssertThrowsError(try Adapters.load(from: dir, into: m)) {
            guard case .incompatibleAdapter(let s) = $0 as? AdapterError, s.contains("layers.5") else { return XCTFail("\($0)") }
        }
        try write(#"{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]}"#, [
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": Tensor.zeros([4, 32]),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": Tensor.zeros([32, 4]),
        ])
        XCTAssertThrowsError(try Adapters.load(from: dir, into: m)) {
            guard case .incompatibleAdapter(let s) = $0 as? AdapterError, s.contains("rank 4") else { return XCTFail("\($0)") }
        }
        XCTAssertTrue(m.adapterLayers().isEmpty && m.sequencePrefix == nil, "failed loads leave the model untouched")
    }
}
