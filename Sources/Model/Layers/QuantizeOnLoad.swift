import Foundation
import Quant
import Tensor

extension LanguageModel {
    /// Loads a model (folder or `.gguf`) and quantizes its dense linear layers to `quantize`
    /// (bitsandbytes' NF4/FP4 with double quantization, or INT8), leaving norms and the output head
    /// in Float32. The quantized layers are frozen: train adapters on top (QLoRA).
    ///
    /// A GGUF file is converted one matrix at a time: its block weights are loaded as stored, and
    /// each is decoded to Float32 and requantized on its own (its file pages then leave resident
    /// memory), so the whole Float32 model never exists. A token embedding that is only looked up
    /// stays in its GGUF blocks (lookups decode the same values); a table tied to the output head
    /// becomes Float32, as the head does.
    public static func loadModel(from url: URL, quantize: WeightQuantization) throws -> any CausalLanguageModel {
        guard url.pathExtension.lowercased() == "gguf" else {
            let model = try loadModel(from: url)
            try quantize.quantizeLinearLayers(of: model)
            return model
        }
        let model = try loadModel(from: url, keeping: .all)
        try quantize.requantizeBlockLayers(of: model)
        try quantize.quantizeLinearLayers(of: model)  // the ones the file stores in Float32 or F16
        return model
    }
}

extension WeightQuantization {
    /// Replaces every GGUF-block layer of `model` (``QuantizedLinear``, ``QuantizedEmbedding``) as
    /// ``quantizeLinearLayers(of:)`` would have quantized the Float32 model: linear layers in this
    /// format, the output head (`lm_head`, or an embedding tied to it) decoded to Float32; an
    /// embedding that is only looked up stays as it is. Returns the paths replaced.
    @discardableResult
    func requantizeBlockLayers(of model: any Module) throws -> [String] {
        let modules = model.namedModules()
        let hasSeparateHead = modules.contains { isHead($0.name) }
        var replaced: [String] = []
        for (path, module) in modules where !path.isEmpty {
            if let layer = module as? QuantizedLinear {
                let dense = Linear(weight: Parameter(layer.weight.dequantized(), trainable: false), bias: layer.bias)
                try model.replaceModule(at: path, with: isHead(path) ? dense : try quantized(dense))
                layer.weight.releaseResidentPages()
            } else if let table = module as? QuantizedEmbedding, !hasSeparateHead {
                try model.replaceModule(at: path, with: Embedding(weight: Parameter(table.table.dequantized(), trainable: false)))
                table.table.releaseResidentPages()
            } else {
                continue
            }
            replaced.append(path)
        }
        return replaced
    }
}
