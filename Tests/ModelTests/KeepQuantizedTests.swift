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
            // q/k stay quantized too, llama's with their rows moved out of llama.cpp's rotary order.
            let attention = quantized.namedModules().filter { $0.name.hasSuffix("q_proj") || $0.name.hasSuffix("k_proj") }
            XCTAssertFalse(attention.isEmpty)
            XCTAssertTrue(attention.allSatisfy { $0.module is QuantizedLinear }, "\(name): q/k quantized")
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

/// ``QuantizedStorage/lookupEmbeddings``: a token table that is only looked up keeps its GGUF
/// blocks, and the model computes exactly what the Float32 model computes.
final class LookupEmbeddingStorageTests: XCTestCase {
    private func gguf(_ name: String) -> URL { Fixtures.url("ModelTests", "gguf/\(name)") }

    private func logits(_ model: any CausalLanguageModel, _ ids: [Int]) throws -> [Float] {
        try GradientMode.withoutGradients { try model.forward(ModelInput(tokens: ids)).scalars }
    }

    func testAnUntiedTableKeepsItsBlocksAndTheLogitsAreBitIdentical() throws {
        for name in ["tiny_llama.gguf", "tiny_qwen2.gguf"] {
            let dense = try LanguageModel.loadModel(from: gguf(name))
            let stored = try LanguageModel.loadModel(from: gguf(name), keeping: .lookupEmbeddings)
            let modules = stored.namedModules().map(\.module)
            XCTAssertTrue(modules.contains { $0 is QuantizedEmbedding }, "\(name): the table stays in its blocks")
            XCTAssertFalse(modules.contains { $0 is QuantizedLinear }, "\(name): the linear layers are expanded")
            let v = dense.description.vocabularySize
            let ids = (0..<v).map { ($0 * 5 + 1) % v }
            XCTAssertEqual(try logits(stored, ids), try logits(dense, ids), name)
            XCTAssertLessThan(stored.parameterCount(trainableOnly: false), dense.parameterCount(trainableOnly: false), name)
        }
    }

    func testATiedTableStaysFloat32UnlessTheLinearsAreKeptToo() throws {
        // The tied fixture re-exported with an F16 table (its own file stores it as F32, never kept).
        let source = gguf("rope_llama3.gguf")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-tied-f16-\(getpid()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUFExport.save(try LanguageModel.loadModel(from: source), to: url, weightType: .f16, source: source)
        let tied = try LanguageModel.loadModel(from: url, keeping: .lookupEmbeddings)
        XCTAssertNil((tied as? LlamaModel)?.lmHead, "the fixture's head is tied")
        XCTAssertFalse(tied.namedModules().contains { $0.module is QuantizedEmbedding },
                       "a table that is also the output head is not only looked up")
        XCTAssertTrue(try LanguageModel.loadModel(from: url, keeping: .all).namedModules().contains { $0.module is QuantizedEmbedding },
                      "with the linears the tied table stays in its blocks")
        let ids = [5, 9, 2, 7, 3]
        XCTAssertEqual(try logits(tied, ids), try logits(LanguageModel.loadModel(from: url), ids))
    }

    func testTheDefaultModelComputesTheSameLogitsWithItsTableInBlocks() throws {
        guard DefaultModel.isAvailable else { throw XCTSkip("default model not fetched (Scripts/fetch-default-model.sh)") }
        let ids = [151644, 872, 198, 9707, 11, 1879, 0, 151645]
        let dense = try logits(LanguageModel.loadModel(from: DefaultModel.url), ids)
        let stored = try LanguageModel.loadModel(from: DefaultModel.url, keeping: .lookupEmbeddings)
        XCTAssertTrue(stored.namedModules().contains { $0.module is QuantizedEmbedding })
        XCTAssertEqual(try logits(stored, ids), dense)
    }
}
