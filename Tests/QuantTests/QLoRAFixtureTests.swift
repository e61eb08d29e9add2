import Foundation
import Model
import PEFT
@testable import Quant
import Tensor
import TestSupport
import Train
import XCTest

/// QLoRA against the reference stack (Tools/make_qlora_fixtures.py): peft's LoRA over
/// bitsandbytes' NF4 base (double quantization) computes the same logits, loss and LoRA gradients
/// as Tailor's LoRA over its NF4 layers, and the base stays 4-bit while training.
final class QLoRAFixtureTests: XCTestCase {
    private let folder = Fixtures.url("QuantTests", "qlora-nf4")

    private struct Run: Decodable { let input_ids: [[Int]]; let labels: [[Int]] }

    func testLoRAOverNF4MatchesPeftOverBitsAndBytes() throws {
        try QuantizedProductKernel.withKernel(.decodedTiles) { try checkAgainstPeft() }
    }

    /// bitsandbytes multiplies with the dequantized weights; so does Tailor with decoded tiles.
    private func checkAgainstPeft() throws {
        let model = try LanguageModel.loadModel(from: Fixtures.url("QuantTests", "bnb-llama-nf4"))
        try Adapters.load(from: folder.appendingPathComponent("adapter"), into: model)
        Adapters.makeTrainable(in: model)
        let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: folder.appendingPathComponent("run.json")))
        let expected = try SafetensorsFile(contentsOf: folder.appendingPathComponent("peft_bnb.safetensors"))
        let batch = TrainingBatch(inputIDs: run.input_ids.flatMap { $0 }, labels: run.labels.flatMap { $0 },
                                  batchSize: run.input_ids.count)

        let logits = try GradientMode.withoutGradients { try model.forward(batch.modelInput(logits: .all)).scalars }
        XCTAssertLessThan(maxAbsoluteError(logits, try expected.tensor(named: "logits").scalars), 1e-4, "logits")

        let (rows, targets) = batch.nextTokenTargets
        let loss = try GradientMode.withoutGradients {
            Tensor.crossEntropy(logits: try model.forward(batch.modelInput(logits: .rows(rows))),
                                targets: targets.map(Int32.init)).item
        }
        XCTAssertEqual(loss, try expected.tensor(named: "loss").item, accuracy: 1e-5, "mean next-token loss")

        let trainer = try Trainer(model: model, configuration: TrainingConfiguration(maxSteps: 1, learningRate: 1e-3))
        let grads = try trainer.gradients(of: batch)
        XCTAssertEqual(grads.count, expected.tensorNames.count - 2, "one gradient per LoRA parameter (7 targets × 2 layers × A, B)")
        XCTAssertEqual(grads.count, 28)
        for (path, g) in grads {
            let want = try expected.tensor(named: "base_model.model." + path.replacingOccurrences(of: ".default", with: "")).scalars
            let scale = max(want.map(abs).max() ?? 1, 1e-6)
            XCTAssertGreaterThan(scale, 1e-4, "\(path): the fixture's gradient is not trivial")
            XCTAssertLessThan(maxAbsoluteError(g.scalars, want) / scale, 1e-3, path)
        }
        // The frozen base is still NF4 (no Float32 copy was made for training).
        let adapted = model.namedModules().compactMap { $0.module as? LoRALinear }
        XCTAssertEqual(adapted.count, 14)
        XCTAssertTrue(adapted.allSatisfy { $0.base is NF4Linear })
    }

    /// With the default products — integer panels on a CPU with AVX-512 VNNI, which round the
    /// activations to 8 bits per 32 values and the NF4 values to 127ths of their block's absmax —
    /// the logits stay within 3% of their range of bitsandbytes' (this two-layer model of width 64
    /// sums only two 32-value blocks per product, so its roundings average out little; 2.1% when
    /// measured) and the loss within 0.1%.
    func testDefaultProductsStayCloseToBitsAndBytes() throws {
        let model = try LanguageModel.loadModel(from: Fixtures.url("QuantTests", "bnb-llama-nf4"))
        try Adapters.load(from: folder.appendingPathComponent("adapter"), into: model)
        let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: folder.appendingPathComponent("run.json")))
        let expected = try SafetensorsFile(contentsOf: folder.appendingPathComponent("peft_bnb.safetensors"))
        let batch = TrainingBatch(inputIDs: run.input_ids.flatMap { $0 }, labels: run.labels.flatMap { $0 },
                                  batchSize: run.input_ids.count)
        let want = try expected.tensor(named: "logits").scalars
        let logits = try GradientMode.withoutGradients { try model.forward(batch.modelInput(logits: .all)).scalars }
        let range = Double(want.max()! - want.min()!)
        XCTAssertLessThan(Double(maxAbsoluteError(logits, want)), 0.03 * range, "logits")
        let (rows, targets) = batch.nextTokenTargets
        let loss = try GradientMode.withoutGradients {
            Tensor.crossEntropy(logits: try model.forward(batch.modelInput(logits: .rows(rows))),
                                targets: targets.map(Int32.init)).item
        }
        let wantLoss = try expected.tensor(named: "loss").item
        XCTAssertEqual(loss, wantLoss, accuracy: 1e-3 * abs(wantLoss), "mean next-token loss")
        if IntegerPanelProduct.isFast { XCTAssertNotEqual(logits, want, "the panels round") }
    }
}
