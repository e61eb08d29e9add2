import XCTest
import Model
import PEFT
import Quant
import Tensor
import TestSupport

/// The frozen NF4 / INT8 linear layers: outputs as the dense product of the decoded weight,
/// input gradients as finite differences, and LoRA training over an NF4 base.
final class BitsAndBytesLinearTests: XCTestCase {
    func layers(out: Int = 37, in inp: Int = 96, seed: UInt64 = 5) throws -> (dense: Linear, nf4: NF4Linear, int8: Int8Linear) {
        var rng = SeededRandom(seed: seed)
        let dense = Linear(inFeatures: inp, outFeatures: out, bias: true, rng: &rng)
        return (dense, try NF4Linear(quantizing: dense), try Int8Linear(quantizing: dense))
    }

    func testOutputsEqualTheDenseProductOfTheDecodedWeight() throws {
        let (dense, nf4, int8) = try layers()
        var rng = SeededRandom(seed: 9)
        let x = Tensor.normal([2, 5, 96], using: &rng)
        for (layer, decoded) in [(nf4 as any LinearLayer, nf4.weight.dequantized()), (int8, int8.weight.dequantized())] {
            let w = try Tensor(shape: [37, 96], values: decoded)
            let expected = Tensor.linear(x, weight: w, bias: dense.bias!.tensor).scalars
            let y = layer(x)
            XCTAssertEqual(y.shape, [2, 5, 37])
            XCTAssertLessThan(maxAbsoluteError(y.scalars, expected), 1e-4)
        }
        // And the quantization error against the dense layer is what 4 and 8 bits allow.
        let exact = dense(x).scalars
        let scale = exact.map(abs).max()!
        XCTAssertLessThan(maxAbsoluteError(nf4(x).scalars, exact) / scale, 0.15)
        XCTAssertLessThan(maxAbsoluteError(int8(x).scalars, exact) / scale, 0.02)
        XCTAssertGreaterThan(maxAbsoluteError(nf4(x).scalars, exact), 0)
    }

    func testInputGradientMatchesFiniteDifferences() throws {
        let (_, nf4, int8) = try layers(out: 19, in: 64)
        var rng = SeededRandom(seed: 3)
        let probe = Tensor.normal([3, 19], using: &rng)
        for layer in [nf4 as any LinearLayer, int8] {
            let x = Parameter(Tensor.normal([3, 64], using: &rng))
            let grads = (layer(x.tensor) * probe).sum().gradients()
            let dx = try XCTUnwrap(grads[x]).scalars
            let base = x.tensor.scalars
            func loss(_ values: [Float]) throws -> Float {
                GradientMode.withoutGradients { (layer(try! Tensor(shape: [3, 64], values: values)) * probe).sum().item }
            }
            for i in stride(from: 0, to: base.count, by: 13) {
                var plus = base, minus = base
                plus[i] += 1e-2
                minus[i] -= 1e-2
                let numeric = (try loss(plus) - loss(minus)) / 2e-2
                XCTAssertEqual(dx[i], numeric, accuracy: 2e-3 * max(1, abs(numeric)), "element \(i)")
            }
        }
    }

    func testLoRATrainsOverAnNF4Base() throws {
        let c = LlamaConfiguration(vocabularySize: 64, hiddenSize: 64, intermediateSize: 128, layerCount: 2, headCount: 4, kvHeadCount: 2)
        let model = try LlamaModel(configuration: c, seed: 11)
        let replaced = try WeightQuantization.nf4.quantizeLinearLayers(of: model)
        XCTAssertEqual(replaced.count, 14)  // 7 projections per layer; lm_head stays dense
        try Adapters.apply(LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj", "down_proj"])), to: model)
        let adapters = model.namedParameters().filter { $0.parameter.isTrainable }
        XCTAssertEqual(adapters.count, 12)
        XCTAssertTrue(adapters.allSatisfy { $0.name.contains("lora_") })

        let tokens = (0..<24).map { ($0 * 7 + 3) % 64 }
        let input = ModelInput(tokens: Array(tokens.dropLast()))
        let targets = tokens.dropFirst().map(Int32.init)
        var losses: [Float] = []
        for step in 0..<8 {
            let loss = Tensor.crossEntropy(logits: try model.forward(input, cache: nil), targets: targets)
            losses.append(loss.item)
            let grads = loss.gradients()
            XCTAssertEqual(grads.count, adapters.count)
            for (name, p) in adapters {
                let g = try XCTUnwrap(grads[p], name)
                // lora_A starts with no gradient because lora_B starts at zero.
                if step > 0 || name.contains("lora_B") { XCTAssertGreaterThan(g.scalars.map(abs).max()!, 0, name) }
                let updated = zip(p.tensor.scalars, g.scalars).map { $0 - 0.2 * $1 }
                try p.assign(try Tensor(shape: p.shape, values: updated))
            }
        }
        XCTAssertLessThan(losses.last!, losses.first! - 0.05, "\(losses)")
        // The base stays in NF4 the whole time.
        for path in replaced {
            let module = try model.module(at: path)
            let base = (module as? LoRALinear)?.base ?? (module as! any LinearLayer)
            XCTAssertTrue(base is NF4Linear, path)
        }
    }
}
