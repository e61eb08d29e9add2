import Foundation
import Model
import Quant
import Tensor
import TestSupport
import XCTest

/// `keepQuantized` models (``QuantizedLinear``, ``QuantizedEmbedding``) against the same GGUF
/// expanded to Float32: logits agree up to summation order, gradients flow to adapters' inputs.
final class KeepQuantizedTests: XCTestCase {
    private func gguf(_ name: String) -> URL { Fixtures.url("ModelTests", "gguf/\(name)") }

    func testLogitsMatchTheDenseModel() throws {
        for name in ["tiny_llama.gguf", "tiny_qwen2.gguf"] {
            let dense = try LanguageModel.loadModel(from: gguf(name))
            let quantized = try LanguageModel.loadModel(from: gguf(name), keepQuantized: true)
            let kinds = quantized.namedModules().map { type(of: $0.module) }
            XCTAssertTrue(kinds.contains { $0 == QuantizedLinear.self }, "\(name) keeps quantized linears")
            let v = dense.description.vocabularySize
            let ids = (0..<10).map { ($0 * 7 + 3) % v }
            let a = try dense.forward(ModelInput(tokens: ids)).scalars
            let b = try quantized.forward(ModelInput(tokens: ids)).scalars
            XCTAssertLessThan(maxAbsoluteError(a, b), 1e-3, name)
            // Cached decoding on the quantized model equals its own recomputation.
            let cache = quantized.makeCache()
            var stepped = try quantized.forward(ModelInput(tokens: Array(ids.prefix(4))), cache: cache).scalars
            for id in ids.dropFirst(4) { stepped += try quantized.forward(ModelInput(tokens: [id]), cache: cache).scalars }
            XCTAssertLessThan(maxAbsoluteError(stepped, b), 1e-4, name)
        }
    }

    func testQuantizedEmbeddingLooksUpAndProjectsLikeTheDenseTable() throws {
        var rng = SeededRandom(seed: 3)
        let values = Tensor.normal([16, 64], using: &rng)
        let halves = values.scalars.map { Float16($0) }
        let bytes = halves.withUnsafeBytes { [UInt8]($0) }
        let table = try QuantizedMatrix(type: .f16, rows: 16, columns: 64, copying: bytes)
        let embedding = QuantizedEmbedding(table: table)
        let denseTable = try Tensor(shape: [16, 64], values: halves.map(Float.init))
        let ids: [Int32] = [3, 0, 15, 3, 7, 9]
        let looked = embedding(ids, shape: [2, 3])
        XCTAssertEqual(looked.shape, [2, 3, 64])
        for (i, id) in ids.enumerated() {
            XCTAssertEqual(Array(looked.scalars[(i * 64)..<((i + 1) * 64)]), Array(denseTable.scalars[(Int(id) * 64)..<((Int(id) + 1) * 64)]))
        }
        let x = Parameter(Tensor.normal([5, 64], using: &rng))
        let projected = embedding.project(x.tensor)
        XCTAssertLessThan(maxRelativeError(projected.scalars, Tensor.linear(x.value, weight: denseTable).scalars, floor: 1e-2), 1e-4)
        let g = projected.sum().gradients()[x]
        XCTAssertNotNil(g, "the tied head passes gradients to its input")
    }

    func testQuantizedLinearLayerTrainsOnlyItsBias() throws {
        var rng = SeededRandom(seed: 4)
        let w = Tensor.normal([8, 32], using: &rng)
        let bytes = w.scalars.map { Float16($0) }.withUnsafeBytes { [UInt8]($0) }
        let layer = QuantizedLinear(weight: try QuantizedMatrix(type: .f16, rows: 8, columns: 32, copying: bytes),
                                    bias: Parameter(Tensor.normal([8], using: &rng)))
        XCTAssertEqual(layer.localParameters.map(\.name), ["bias"])
        XCTAssertEqual(layer.inFeatures, 32)
        XCTAssertEqual(layer.outFeatures, 8)
        let x = Parameter(Tensor.normal([2, 32], using: &rng))
        let grads = layer(x.tensor).sum().gradients()
        XCTAssertEqual(grads[try XCTUnwrap(layer.bias)]?.scalars, [Float](repeating: 2, count: 8))
        XCTAssertNotNil(grads[x])
    }
}
