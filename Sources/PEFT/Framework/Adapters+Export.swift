import Foundation
import Model
import Tensor

extension Adapters {
    /// Folds the active adapter into the base weights and writes the model as a GGUF file that
    /// llama.cpp loads (see ``GGUFExport/save(_:to:weightType:source:)``). The adapter stays merged
    /// afterwards (``unmerge(in:)`` takes it out again).
    /// - Throws: ``AdapterError/unsupported(_:)`` for an active adapter whose method cannot be
    ///   merged (prefix or prompt tuning, bottlenecks, a quantized base), ``GGUFExportError``.
    public static func exportGGUF(_ model: any CausalLanguageModel, to url: URL,
                                  weightType: GGUFExport.WeightType = .f16, source: URL? = nil) throws {
        try merge(in: model)
        try GGUFExport.save(model, to: url, weightType: weightType, source: source)
    }

    /// Writes LoRA adapter `name` as a llama.cpp adapter GGUF (``GGUFExport/saveLoRA(_:alpha:for:to:)``),
    /// to be applied on the base model's GGUF with `--lora FILE`.
    ///
    /// llama.cpp scales every pair by alpha / r with one alpha per file; the file carries the
    /// adapter's `lora_alpha`, and layers whose scale differs (rsLoRA, `alpha_pattern`,
    /// `rank_pattern`) get the ratio folded into B, so every layer keeps its own scale.
    /// - Throws: ``AdapterError/adapterName(_:)`` when the model has no LoRA adapter `name`,
    ///   ``AdapterError/unsupported(_:)`` for DoRA, `lora_bias`, or adapter `name` also living in
    ///   layers of another method; ``GGUFExportError``.
    public static func exportLoRAGGUF(_ name: String = "default", of model: any CausalLanguageModel, to url: URL) throws {
        let (pairs, alpha) = try loraPairs(name, of: model)
        try GGUFExport.saveLoRA(pairs, alpha: alpha, for: model, to: url)
    }

    /// The pairs of LoRA adapter `name` by module path, with B rescaled to llama.cpp's alpha / r.
    static func loraPairs(_ name: String, of model: any CausalLanguageModel) throws -> ([String: GGUFExport.LoRAPair], Float) {
        let holders = model.adapterLayers().filter { $0.layer.adapterNames.contains(name) }
        guard !holders.isEmpty else { throw AdapterError.adapterName("no adapter named '\(name)' in the model") }
        var pairs: [String: GGUFExport.LoRAPair] = [:]
        var alpha: Float?
        for (path, layer) in holders {
            guard let lora = layer as? LoRALinear, let ad = lora.adapters[name] else {
                throw AdapterError.unsupported("exporting a \(type(of: layer)) adapter as a llama.cpp LoRA file (only LoRA is)")
            }
            guard ad.magnitude == nil else { throw AdapterError.unsupported("DoRA in a llama.cpp LoRA file ('\(path)')") }
            guard ad.bBias == nil else { throw AdapterError.unsupported("lora_bias in a llama.cpp LoRA file ('\(path)')") }
            let globalAlpha = alpha ?? ad.configuration.alpha
            alpha = globalAlpha
            let rank = Float(ad.a.shape[0])
            // llama.cpp applies alpha / r (or 1 when alpha is 0); fold what differs from the layer's scale into B.
            let applied = globalAlpha != 0 ? globalAlpha / rank : 1
            let factor = ad.scale / applied
            let b = factor == 1 ? ad.b.value : GradientMode.withoutGradients { ad.b.value * factor }
            pairs[path] = GGUFExport.LoRAPair(a: ad.a.value, b: b)
        }
        return (pairs, alpha ?? 0)
    }
}
