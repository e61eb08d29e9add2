import Foundation
import Model
import Quant
import Tensor

/// Harnesses for binary weight formats and model configurations.
enum FormatHarnesses {
    /// Tensors above this many values are not decoded (the input is at most a few KB anyway).
    static let maxValues = 1 << 20

    /// A GGUF file: header, metadata, tensors, the model parameters, the tokenizer and the model.
    static func gguf(_ data: Data) {
        guard let url = ScratchFile.write(data, suffix: ".gguf"), let file = try? GGUFFile(contentsOf: url) else { return }
        for info in file.tensors where info.shape.reduce(1, { $0 &* max($1, 1) }) <= maxValues {
            _ = try? file.float32(named: info.name)
        }
        _ = try? GGUFModelParameters(file: file)
        if let archive = try? GGUFWeightArchive(file: file) {
            for name in archive.tensorNames { _ = try? archive.shape(of: name) }
        }
        if let tokenizer = try? TokenizerLoader.load(gguf: file) { TextHarnesses.exercise(tokenizer) }
        if let model = try? LanguageModel.loadModel(from: url, keepQuantized: data.first.map { $0 & 1 == 1 } ?? false) {
            ModelHarness.exercise(model)
        }
    }

    /// A safetensors file: header and every tensor.
    static func safetensors(_ data: Data) {
        guard let url = ScratchFile.write(data, suffix: ".safetensors"), let file = try? SafetensorsFile(contentsOf: url) else { return }
        for info in file.tensors where info.shape.reduce(1, { $0 &* max($1, 1) }) <= maxValues {
            _ = try? file.tensor(named: info.name)
        }
    }

    /// A `config.json`: Llama-family and GPT-2 decoding and validation; small valid ones are built
    /// with random weights and run.
    static func configJSON(_ data: Data) {
        if let c = try? JSONDecoder().decode(LlamaConfiguration.self, from: data), (try? c.validate()) != nil {
            let weights = c.vocabularySize &* c.hiddenSize &+ c.layerCount &* (c.hiddenSize &* c.intermediateSize &* 3
                &+ c.hiddenSize &* c.headDimension &* (c.headCount &+ c.kvHeadCount) &* 2)
            if c.vocabularySize <= 512, c.hiddenSize <= 64, c.intermediateSize <= 128, c.layerCount <= 2,
               c.headDimension <= 32, c.headCount <= 8, weights > 0, weights <= 200_000,
               let model = try? LlamaModel(configuration: c, seed: 1) {
                ModelHarness.exercise(model)
            }
        }
        if let c = try? JSONDecoder().decode(GPT2Configuration.self, from: data), (try? c.validate()) != nil,
           c.vocabularySize <= 512, c.hiddenSize <= 64, c.layerCount <= 2, c.maxPositions <= 64, (c.innerSize ?? 0) <= 256,
           let model = try? GPT2Model(configuration: c, seed: 1) {
            ModelHarness.exercise(model)
        }
    }

    /// GGML blocks: the first byte picks the type, the rest is block data; decoded whole and as a
    /// one-row quantized matrix times a vector.
    static func ggmlBlocks(_ data: Data) {
        guard let first = data.first else { return }
        let types = GGMLType.allCases
        let type = types[Int(first) % types.count]
        let bytes = [UInt8](data.dropFirst())
        let blocks = bytes.count / max(1, type.bytesPerBlock)
        let count = blocks * type.blockSize
        var out = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { o in
                guard let base = o.baseAddress else { return }
                _ = try? type.dequantize(raw, count: count, into: base)
            }
        }
        // Claimed sizes other than the real ones must be refused, not read past.
        _ = try? bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { o in
                guard let base = o.baseAddress else { return }
                try type.dequantize(raw, count: count + type.blockSize, into: base)
            }
        }
        if count > 0, let m = try? QuantizedMatrix(type: type, rows: 1, columns: count, copying: bytes) {
            let x = Tensor.full([2, count], 0.5)
            _ = Tensor.linear(x, quantizedWeight: m).scalars
        }
        _ = try? QuantizedMatrix(type: type, rows: 2, columns: count, copying: bytes)
    }
}

/// Runs a loaded model briefly, as a user would.
enum ModelHarness {
    static func exercise(_ model: any CausalLanguageModel) {
        let d = model.description
        guard d.vocabularySize > 0 else { return }
        let ids = [0, d.vocabularySize - 1, d.vocabularySize / 2]
        _ = try? model.forward(ModelInput(tokens: ids, logits: .last), cache: nil)
        let cache = model.makeCache(batchSize: 1, capacity: 2)
        _ = try? model.forward(ModelInput(tokens: Array(ids.prefix(2))), cache: cache)
        _ = try? model.forward(ModelInput(tokens: [1]), cache: cache)
        _ = try? model.forward(ModelInput(tokens: [d.vocabularySize]), cache: nil)
    }
}
