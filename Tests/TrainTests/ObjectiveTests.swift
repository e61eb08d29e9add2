import Foundation
import Model
import PEFT
import Tensor
import TestSupport
import Train
import XCTest

/// Pluggable objectives: composition, distillation, EWC, L2-SP and the auxiliary term, on the tiny
/// fixture models (values and gradients of the underlying ops are checked against torch in
/// TensorTests).
final class ObjectiveTests: XCTestCase {
    private func tinyLlama() throws -> any CausalLanguageModel {
        try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
    }

    /// `model` with LoRA on q/v whose A and B are both random, so the student differs from its base.
    private func withLoRA(_ model: any CausalLanguageModel, seed: UInt64 = 3) throws -> any CausalLanguageModel {
        try Adapters.apply(LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj"]), initialization: .gaussian),
                       to: model, seed: seed)
        var rng = SeededRandom(seed: seed)
        for (_, p) in Trainer.trainable(in: model) { try p.assign(Tensor.normal(p.shape, std: 0.3, using: &rng)) }
        return model
    }

    private func batches(_ count: Int, seed: UInt64, rows: Int = 2, length: Int = 10) -> [TrainingBatch] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            var ids: [Int] = [], labels: [Int] = []
            for _ in 0..<rows {
                let row = (0..<length).map { _ in Int(rng.next() % 96) }
                ids += row
                // A prompt of 4 tokens without labels, then the tokens themselves (Hugging Face's convention).
                labels += (0..<length).map { t in t < 4 ? TokenizedExample.ignoreIndex : row[t] }
            }
            return TrainingBatch(inputIDs: ids, labels: labels, batchSize: rows)
        }
    }

    private func flat(_ grads: [String: Tensor]) -> [Float] {
        grads.keys.sorted().flatMap { grads[$0]!.scalars }
    }

    private func config(steps: Int = 1) -> TrainingConfiguration {
        TrainingConfiguration(maxSteps: steps, learningRate: 1e-2, decay: .constant, maxGradientNorm: nil)
    }

    // MARK: - Cross-entropy

    /// The trainer's cross-entropy fuses the output head with the loss when the head is dense: its
    /// loss and every gradient equal those of the materialised logits, for an untied head, tied
    /// heads (Llama 3 style and GPT-2) and a LoRA-adapted model.
    func testFusedHeadCrossEntropyEqualsMaterializedLogits() throws {
        for name in ["llama", "llama3-tied", "gpt2", "qwen2-lora"] {
            let model = name == "qwen2-lora" ? try withLoRA(try LanguageModel.loadModel(from: Fixtures.tinyModel("qwen2")))
                : try LanguageModel.loadModel(from: Fixtures.tinyModel(name))
            if name != "qwen2-lora" { model.setTrainable(true) }
            let batch = batches(1, seed: 5)[0]
            let trainer = try Trainer(model: model, configuration: config())
            let context = ObjectiveContext(model: model, batch: batch, normalizer: Float(batch.targetCount),
                                           parameters: trainer.trainableParameters)
            XCTAssertNotNil(try context.studentRows().head.denseWeight, "\(name): a dense head")
            let fused = try trainer.gradients(of: batch)
            let logits = try model.forward(batch.modelInput(logits: .rows(context.targetRows)), cache: nil)
            let loss = Tensor.crossEntropy(logits: logits, targets: context.targets, normalizer: Float(batch.targetCount))
            let fusedLoss = try CrossEntropyObjective().loss(in: context).loss
            XCTAssertEqual(fusedLoss.item, loss.item, accuracy: 1e-5, name)
            let grads = loss.gradients()
            var reference: [String: Tensor] = [:]
            for (n, p) in trainer.trainableParameters { reference[n] = grads[p] }
            XCTAssertEqual(Set(fused.keys), Set(reference.keys), name)
            XCTAssertLessThan(maxAbsoluteError(flat(fused), flat(reference)), 1e-5, name)
        }
    }

    /// A head that is not a dense product (LoRA on `lm_head`, a trained copy of it) runs chunk by
    /// chunk with its gradients taken per chunk: loss and every gradient equal the whole logits'.
    func testChunkedCrossEntropyOfAdaptedHeadEqualsWholeLogits() throws {
        let lora = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "lm_head"]), initialization: .gaussian)
        var saved = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["v_proj"]), initialization: .gaussian)
        saved.modulesToSave = ["lm_head"]
        for (label, config) in [("lora on lm_head", lora), ("modules_to_save lm_head", saved)] {
            let model = try LanguageModel.loadModel(from: Fixtures.tinyModel("llama"))
            try Adapters.apply(config, to: model, seed: 3)
            var rng = SeededRandom(seed: 4)
            for (_, p) in Trainer.trainable(in: model) { try p.assign(Tensor.normal(p.shape, std: 0.3, using: &rng)) }
            let batch = batches(1, seed: 5, rows: 3)[0]
            let n = Float(batch.targetCount)
            let context = ObjectiveContext(model: model, batch: batch, normalizer: n, parameters: Trainer.trainable(in: model))
            let rows = try context.studentRows()
            XCTAssertNil(rows.head.denseWeight, label)
            let chunked = rows.crossEntropy(targets: context.targets, normalizer: n, chunkRows: 4)
            let whole = Tensor.crossEntropy(logits: rows.logits, targets: context.targets, normalizer: n)
            XCTAssertEqual(chunked.item, whole.item, accuracy: 1e-5, label)
            let gc = chunked.gradients(), gw = whole.gradients()
            XCTAssertEqual(gc.count, gw.count, label)
            for (name, p) in Trainer.trainable(in: model) {
                guard let a = gc[p], let b = gw[p] else { XCTFail("\(label): no gradient for \(name)"); continue }
                XCTAssertLessThan(maxAbsoluteError(a.scalars, b.scalars), 1e-5, "\(label): \(name)")
            }
        }
    }

    // MARK: - Composition

    func testWeightedSumCombinesLossesAndGradientsAndReportsEachTerm() throws {
        let model = try withLoRA(try tinyLlama())
        let batch = batches(1, seed: 1)[0]
        let plain = try Trainer(model: model, configuration: config()).gradients(of: batch)
        let l2sp = L2SPObjective(lambda: 0.5)
        let weighted = try WeightedObjective([(0.25, CrossEntropyObjective()), (0.5, CrossEntropyObjective(name: "ce2")), (1, l2sp)])
        let trainer = try Trainer(model: model, configuration: config(steps: 2), objective: weighted)
        // At the start point the L2-SP term and its gradient vanish: gradients are 0.75 × CE's.
        let combined = try trainer.gradients(of: batch)
        XCTAssertEqual(combined.count, plain.count)
        XCTAssertLessThan(maxAbsoluteError(flat(combined), flat(plain).map { $0 * 0.75 }), 1e-6)

        let history = try trainer.fit(train: FixedBatches([batch]))
        XCTAssertEqual(history.steps.count, 2)
        let record = history.steps[0]
        XCTAssertEqual(Set(record.terms.keys), ["ce", "ce2", "l2sp"])
        XCTAssertEqual(record.terms["ce"]!, record.terms["ce2"]!, accuracy: 1e-6)
        XCTAssertEqual(record.terms["l2sp"]!, 0, accuracy: 1e-12)
        XCTAssertEqual(record.loss, 0.75 * record.terms["ce"]!, accuracy: 1e-5)
        XCTAssertTrue(record.termSummary.contains("ce2 "))
        // After one update the parameters moved away from the start point.
        XCTAssertGreaterThan(history.steps[1].terms["l2sp"]!, 0)
    }

    func testWeightsThatDoNotSumToAPositiveNumberAreTypedErrors() {
        for weights: [Float] in [[0, 0], [-1, 2], [.nan, 1], [.infinity], []] {
            let terms: [(weight: Float, objective: any TrainingObjective)] =
                weights.enumerated().map { ($0.element, CrossEntropyObjective(name: "ce\($0.offset)")) }
            XCTAssertThrowsError(try WeightedObjective(terms)) {
                guard case .invalidWeights(let w) = $0 as? ObjectiveError else { return XCTFail("\($0)") }
                XCTAssertEqual(w.count, weights.count)
            }
        }
        XCTAssertThrowsError(try WeightedObjective([(1, CrossEntropyObjective()), (1, CrossEntropyObjective())])) {
            guard case .invalidSetting = $0 as? ObjectiveError else { return XCTFail("\($0)") }
        }
    }

    // MARK: - Distillation

    func testDistillationFromAnIdenticalTeacherIsZeroAndFromAnotherIsPositive() throws {
        let batch = batches(1, seed: 2)[0]
        let student = try withLoRA(try tinyLlama())
        // Gaussian LoRA init: the student differs from its base; a second base instance is the teacher.
        for direction in KLDirection.allCases {
            for topK in [nil, 8] {
                let kl = DistillationObjective(teacher: .model(try tinyLlama()), temperature: 2, direction: direction, topK: topK)
                let trainer = try Trainer(model: student, configuration: config(), objective: kl)
                let grads = try trainer.gradients(of: batch)
                XCTAssertGreaterThan(flat(grads).map(abs).max() ?? 0, 1e-6, "\(direction) top-k \(String(describing: topK))")
            }
            let same = try Trainer(model: student, configuration: config(),
                                   objective: DistillationObjective(teacher: .model(student), temperature: 3, direction: direction))
            let ctx = ObjectiveContext(model: student, batch: batch, normalizer: Float(batch.targetCount),
                                       parameters: same.trainableParameters)
            let value = try same.objective.loss(in: ctx)
            XCTAssertEqual(value.loss.item, 0, accuracy: 1e-6)
            XCTAssertLessThan(flat(try same.gradients(of: batch)).map(abs).max() ?? 1, 1e-6)
        }
    }

    func testDistillationMatchesTheKLOfTheTwoModelsLogits() throws {
        let batch = batches(1, seed: 5)[0]
        let student = try withLoRA(try tinyLlama()), teacher = try tinyLlama()
        let rows = batch.nextTokenTargets.positions
        let input = ModelInput(tokens: batch.inputIDs, batchSize: batch.batchSize, logits: .rows(rows))
        let (s, t) = try GradientMode.withoutGradients { (try student.forward(input, cache: nil), try teacher.forward(input, cache: nil)) }
        // Reference in Double: T² · Σ_rows KL(p_T ‖ q_T) / targets.
        let temperature = 1.5, v = 96
        var expected = 0.0
        for r in 0..<rows.count {
            func logSoftmax(_ x: [Float]) -> [Double] {
                let z = x.map { Double($0) / temperature }, m = z.max()!
                let l = m + log(z.reduce(0) { $0 + exp($1 - m) })
                return z.map { $0 - l }
            }
            let lq = logSoftmax(Array(s.scalars[(r * v)..<((r + 1) * v)])), lp = logSoftmax(Array(t.scalars[(r * v)..<((r + 1) * v)]))
            for j in 0..<v { expected += exp(lp[j]) * (lp[j] - lq[j]) }
        }
        expected *= temperature * temperature / Double(rows.count)
        let kl = DistillationObjective(teacher: .model(teacher), temperature: Float(temperature))
        let trainer = try Trainer(model: student, configuration: config(), objective: kl)
        let value = try kl.loss(in: ObjectiveContext(model: student, batch: batch, normalizer: Float(rows.count),
                                                     parameters: trainer.trainableParameters))
        XCTAssertEqual(Double(value.loss.item), expected, accuracy: 1e-5 * max(1, expected))
    }

    func testTeacherWithAnotherVocabularyIsATypedError() throws {
        let c = LlamaConfiguration(vocabularySize: 50, hiddenSize: 16, intermediateSize: 32, layerCount: 1, headCount: 2)
        let other = try LlamaModel(configuration: c, seed: 1)
        let student = try withLoRA(try tinyLlama())
        XCTAssertThrowsError(try Trainer(model: student, configuration: config(),
                                         objective: DistillationObjective(teacher: .model(other)))) {
            XCTAssertEqual($0 as? ObjectiveError, .vocabularyMismatch(teacher: 50, student: 96))
        }
        XCTAssertThrowsError(try Trainer(model: student, configuration: config(),
                                         objective: DistillationObjective(teacher: .base, temperature: 0)))
        XCTAssertThrowsError(try Trainer(model: student, configuration: config(),
                                         objective: DistillationObjective(teacher: .base, topK: 97)))
    }

    func testBaseTeacherRunsTheStudentWithAdaptersBypassedAndWithoutGradients() throws {
        let recorder = RoutingRecorder(try withLoRA(try tinyLlama()))
        let trainer = try Trainer(model: recorder, configuration: config(), objective: DistillationObjective(teacher: .base))
        _ = try trainer.gradients(of: batches(1, seed: 3)[0])
        XCTAssertEqual(recorder.calls.count, 2)
        XCTAssertEqual(recorder.calls.first?.selection, .active)
        XCTAssertEqual(recorder.calls.first?.recording, true)
        XCTAssertEqual(recorder.calls.last?.selection, .base)
        XCTAssertEqual(recorder.calls.last?.recording, false)
    }

    // MARK: - EWC, L2-SP, auxiliary data

    func testFisherIsTheMeanSquaredGradientAndRoundTripsThroughSafetensors() throws {
        let model = try withLoRA(try tinyLlama())
        let reference = batches(3, seed: 7)
        let info = try FisherInformation.estimate(model: model, batches: reference)
        let trainer = try Trainer(model: model, configuration: config())
        let perBatch = try reference.map { try trainer.gradients(of: $0) }
        for (name, p) in trainer.trainableParameters {
            let expected = (0..<p.value.count).map { i in perBatch.reduce(Float(0)) { $0 + $1[name]!.scalars[i] * $1[name]!.scalars[i] } / 3 }
            XCTAssertLessThan(maxAbsoluteError(info.fisher[name]!.scalars, expected), 1e-6 * (expected.max() ?? 0), name)
            XCTAssertEqual(info.anchor[name]!.scalars, p.value.scalars)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-ewc-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try info.save(to: url)
        let loaded = try FisherInformation(contentsOf: url)
        XCTAssertEqual(loaded.fisher.keys.sorted(), info.fisher.keys.sorted())
        for (k, v) in info.fisher { XCTAssertEqual(loaded.fisher[k]!.scalars, v.scalars) }
        for (k, v) in info.anchor { XCTAssertEqual(loaded.anchor[k]!.scalars, v.scalars) }
        XCTAssertEqual(Set(try SafetensorsFile(contentsOf: url).tensorNames.map { String($0.prefix(7)) }), ["fisher.", "anchor."])
    }

    func testEWCPenaltyValueAndAFileForAnotherModelIsATypedError() throws {
        let model = try withLoRA(try tinyLlama())
        let info = try FisherInformation.estimate(model: model, batches: batches(2, seed: 8))
        let params = Trainer.trainable(in: model)
        // Move every trainable value, then compare λ/2 Σ F (θ − θ*)² with a Double reference.
        var rng = SeededRandom(seed: 11)
        for (_, p) in params { try p.assign(p.value + Tensor.normal(p.shape, std: 0.05, using: &rng)) }
        var expected = 0.0
        for (name, p) in params {
            let f = info.fisher[name]!.scalars, a = info.anchor[name]!.scalars, x = p.value.scalars
            for i in x.indices { expected += Double(f[i]) * pow(Double(x[i] - a[i]), 2) }
        }
        expected *= 0.7 / 2
        let ewc = EWCObjective(information: info, lambda: 0.7)
        let trainer = try Trainer(model: model, configuration: config(), objective: ewc)
        let batch = batches(1, seed: 9)[0]
        let value = try ewc.loss(in: ObjectiveContext(model: model, batch: batch, normalizer: Float(batch.targetCount),
                                                      parameters: trainer.trainableParameters))
        XCTAssertEqual(Double(value.loss.item), expected, accuracy: 1e-6 * max(1, expected))
        XCTAssertGreaterThan(expected, 0)
        // Gradient: λ F (θ − θ*).
        let grads = try trainer.gradients(of: batch)
        for (name, p) in params {
            let f = info.fisher[name]!.scalars, a = info.anchor[name]!.scalars, x = p.value.scalars
            let want = x.indices.map { 0.7 * f[$0] * (x[$0] - a[$0]) }
            XCTAssertLessThan(maxAbsoluteError(grads[name]!.scalars, want), 1e-7 + 1e-5 * (want.map(abs).max() ?? 0), name)
        }

        // Another model (other adapter rank): the file's tensors do not fit.
        let other = try tinyLlama()
        try Adapters.apply(LoRAConfiguration(rank: 2, targetModules: .names(["q_proj", "v_proj"])), to: other)
        XCTAssertThrowsError(try Trainer(model: other, configuration: config(), objective: ewc)) {
            guard case .parameterMismatch(let tensor, _) = $0 as? ObjectiveError else { return XCTFail("\($0)") }
            XCTAssertTrue(tensor.hasPrefix("fisher.model.layers."), tensor)
        }
        // Other targets: a trainable parameter the file lacks.
        let moreTargets = try tinyLlama()
        try Adapters.apply(LoRAConfiguration(rank: 4, targetModules: .names(["q_proj", "v_proj", "k_proj"])), to: moreTargets)
        XCTAssertThrowsError(try Trainer(model: moreTargets, configuration: config(), objective: ewc)) {
            guard case .parameterMismatch(let tensor, let reason) = $0 as? ObjectiveError else { return XCTFail("\($0)") }
            XCTAssertTrue(tensor.contains("k_proj") && reason.contains("missing"), "\(tensor): \(reason)")
        }
        // A file with a foreign tensor.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-ewc-bad-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafetensorsWriter.write(["weights.x": Tensor.zeros([2])], to: url)
        XCTAssertThrowsError(try FisherInformation(contentsOf: url)) {
            XCTAssertEqual($0 as? ObjectiveError, .parameterMismatch(tensor: "weights.x", reason: "an EWC file holds only fisher.* and anchor.* tensors"))
        }
    }

    func testEWCWorksForFullFineTuning() throws {
        let model = try tinyLlama()
        for (_, p) in model.namedParameters() { p.isTrainable = true }
        let info = try FisherInformation.estimate(model: model, batches: batches(1, seed: 12))
        let objective = try WeightedObjective([(1, CrossEntropyObjective()), (1, EWCObjective(information: info, lambda: 100))])
        let history = try Trainer(model: model, configuration: config(steps: 3), objective: objective)
            .fit(train: FixedBatches(batches(2, seed: 13)))
        XCTAssertEqual(history.steps[0].terms["ewc"]!, 0, accuracy: 1e-12)
        XCTAssertGreaterThan(history.steps[2].terms["ewc"]!, 0)
    }

    func testAuxiliaryTermIsTheMeanLossOfTheNextAuxiliaryBatch() throws {
        let model = try withLoRA(try tinyLlama())
        let aux = batches(2, seed: 21, rows: 1, length: 8)
        let objective = try WeightedObjective([(0.7, CrossEntropyObjective()),
                                               (0.3, AuxiliaryCrossEntropyObjective(data: FixedBatches(aux)))])
        // Two accumulated micro-batches: each pairs with one auxiliary batch; the term is their
        // mean losses weighted by the micro-batches' target shares.
        let task = batches(2, seed: 22)
        let trainer = try Trainer(model: model, configuration: TrainingConfiguration(
            maxSteps: 1, gradientAccumulationSteps: 2, learningRate: 1e-9, decay: .constant), objective: objective)
        let evaluator = try Trainer(model: model, configuration: config())
        let auxLoss = try aux.map { try evaluator.evaluate(FixedBatches([$0])).loss }
        let shares = task.map { Float($0.targetCount) / Float(task[0].targetCount + task[1].targetCount) }
        let record = try XCTUnwrap(try trainer.fit(train: FixedBatches(task)).steps.first)
        XCTAssertEqual(record.terms["aux_ce"]!, shares[0] * auxLoss[0] + shares[1] * auxLoss[1], accuracy: 1e-4)
        XCTAssertEqual(record.loss, 0.7 * record.terms["ce"]! + 0.3 * record.terms["aux_ce"]!, accuracy: 1e-4)
        XCTAssertThrowsError(try Trainer(model: model, configuration: config(),
                                         objective: AuxiliaryCrossEntropyObjective(data: FixedBatches([])))) {
            guard case .noData = $0 as? ObjectiveError else { return XCTFail("\($0)") }
        }
    }
}

extension Trainer {
    /// Trainable parameters of `model` by path (test helper).
    static func trainable(in model: any CausalLanguageModel) -> [(name: String, parameter: Parameter)] {
        var seen = Set<ObjectIdentifier>()
        return model.namedParameters().filter { $0.parameter.isTrainable && seen.insert(ObjectIdentifier($0.parameter)).inserted }
    }
}

/// A model that records, for every forward pass, the adapter selection and whether gradients were
/// being recorded, then runs the wrapped model.
final class RoutingRecorder: CausalLanguageModel {
    let inner: any CausalLanguageModel
    private(set) var calls: [(selection: AdapterSelection, recording: Bool)] = []

    init(_ inner: any CausalLanguageModel) { self.inner = inner }

    var description: ModelDescription { inner.description }
    var sequencePrefix: (any SequencePrefix)? {
        get { inner.sequencePrefix }
        set { inner.sequencePrefix = newValue }
    }
    var blockPath: String { inner.blockPath }
    var children: [(name: String, module: any Module)] { inner.children }
    var localParameters: [(name: String, parameter: Parameter)] { inner.localParameters }

    func forward(_ input: ModelInput, cache: KVCache?) throws -> Tensor {
        calls.append((AdapterRouting.selection, GradientMode.isEnabled))
        return try inner.forward(input, cache: cache)
    }
}
