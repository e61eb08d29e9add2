import Foundation
import Model
import Quant
import Tensor
import TestSupport
import XCTest

/// `LanguageModel.loadModel(from:quantize:)` on GGUF files converts one block matrix at a time;
/// the model must be the one quantizing the whole Float32 model gives: the same layers and
/// bit-identical logits.
final class QuantizeOnLoadTests: XCTestCase {
    private func gguf(_ name: String) -> URL { Fixtures.url("ModelTests", "gguf/\(name)") }

    func testGGUFConversionEqualsQuantizingTheFloat32Model() throws {
        for name in ["tiny_llama.gguf", "tiny_qwen2.gguf", "tiny_gpt2.gguf"] {
            for format in WeightQuantization.allCases {
                let reference = try LanguageModel.loadModel(from: gguf(name))
                let quantizedPaths = try format.quantizeLinearLayers(of: reference)
                let streamed = try LanguageModel.loadModel(from: gguf(name), quantize: format)
                let label = "\(name) \(format.rawValue)"

                XCTAssertFalse(quantizedPaths.isEmpty, label)
                XCTAssertFalse(streamed.namedModules().contains { $0.module is QuantizedLinear }, "\(label): no GGUF-block linear is left")
                let kinds = { (m: any CausalLanguageModel) in
                    Dictionary(uniqueKeysWithValues: m.namedModules().filter { $0.module is any LinearLayer }.map { ($0.name, "\(type(of: $0.module))") })
                }
                XCTAssertEqual(kinds(streamed), kinds(reference), label)

                let v = reference.description.vocabularySize
                let ids = (0..<12).map { ($0 * 11 + 5) % v }
                let a = try reference.forward(ModelInput(tokens: ids)).scalars
                let b = try streamed.forward(ModelInput(tokens: ids)).scalars
                XCTAssertTrue(a == b, "\(label): logits differ by up to \(maxAbsoluteError(a, b))")
            }
        }
    }
}
