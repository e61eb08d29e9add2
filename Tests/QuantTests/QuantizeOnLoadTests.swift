import XCTest
import Model
import Quant
import Tensor
import TestSupport

/// `LanguageModel.loadModel(from:quantize:)` from safetensors and GGUF: every dense projection
/// becomes NF4/INT8, and the logits equal those of the Float32 model with each projection's
/// weight replaced by its decoded quantized weight.
final class QuantizeOnLoadTests: XCTestCase {
    func check(_ url: URL, line: UInt = #line) throws {
        let input = ModelInput(tokens: [3, 17, 5, 12, 8, 1])
        let exact = try GradientMode.withoutGradients { try LanguageModel.loadModel(from: url).forward(input, cache: nil).scalars }
        for format in [WeightQuantization.nf4, .int8] {
            let model = try LanguageModel.loadModel(from: url, quantize: format)
            let decoded = try LanguageModel.loadModel(from: url)
            var quantized = 0
            for (path, module) in model.namedModules() {
                let weight: Tensor, bias: Parameter?
                if let q = module as? NF4Linear {
                    (weight, bias) = (try Tensor(shape: [q.outFeatures, q.inFeatures], values: q.weight.dequantized()), q.bias)
                } else if let q = module as? Int8Linear {
                    (weight, bias) = (try Tensor(shape: [q.outFeatures, q.inFeatures], values: q.weight.dequantized()), q.bias)
                } else {
                    XCTAssertFalse(module is Linear && !path.hasSuffix("lm_head"), "\(path) left dense", line: line)
                    continue
                }
                try decoded.replaceModule(at: path, with: Linear(weight: Parameter(weight, trainable: false), bias: bias))
                quantized += 1
            }
            XCTAssertEqual(quantized, 14, line: line)
            let logits = try GradientMode.withoutGradients { try model.forward(input, cache: nil).scalars }
            let reference = try GradientMode.withoutGradients { try decoded.forward(input, cache: nil).scalars }
            let scale = exact.map(abs).max()!
            print("quantize on load \(url.lastPathComponent) \(format): max |Δlogit| vs decoded \(maxAbsoluteError(logits, reference)), vs Float32 \(maxAbsoluteError(logits, exact)) (max |logit| \(scale))")
            XCTAssertLessThan(maxAbsoluteError(logits, reference), 1e-4 * max(1, scale), "\(format)", line: line)
            XCTAssertGreaterThan(maxAbsoluteError(logits, exact), 0, "\(format) changed nothing", line: line)
        }
    }

    func testSafetensorsFolder() throws { try check(Fixtures.tinyModel("llama")) }

    func testGGUF() throws { try check(Fixtures.url("ModelTests", "gguf/tiny_llama.gguf")) }
}
