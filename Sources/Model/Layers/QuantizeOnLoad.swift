import Foundation

extension LanguageModel {
    /// Loads a model (folder or `.gguf`) and quantizes its dense linear layers to `quantize`
    /// (bitsandbytes' NF4/FP4 with double quantization, or INT8), leaving embeddings, norms and
    /// the output head in Float32. The quantized layers are frozen: train adapters on top (QLoRA).
    /// GGUF block weights are decoded to Float32 first, then requantized.
    public static func loadModel(from url: URL, quantize: WeightQuantization) throws -> any CausalLanguageModel {
        let model = try loadModel(from: url)
        try quantize.quantizeLinearLayers(of: model)
        return model
    }
}
