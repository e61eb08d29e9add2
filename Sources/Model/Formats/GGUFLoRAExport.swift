import Foundation
import Quant
import Tensor

extension GGUFExport {
    /// One low-rank update ΔW = s·B·A of a linear layer, in PyTorch orientation.
    public struct LoRAPair: Sendable {
        /// A: [r, In].
        public var a: Tensor
        /// B: [Out, r].
        public var b: Tensor

        /// A pair from its matrices.
        public init(a: Tensor, b: Tensor) { (self.a, self.b) = (a, b) }
    }

    /// Writes a llama.cpp LoRA adapter file (`llama-cli --lora FILE`, `llama_adapter_lora_init`)
    /// for `model`: `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha = alpha`,
    /// and for each linear layer (keyed by module path, e.g. `model.layers.0.self_attn.q_proj`) the
    /// F32 tensors `<gguf name>.lora_a` (A, [r, In]) and `<gguf name>.lora_b` (B, [Out, r]). llama.cpp
    /// scales each pair by alpha / r, so pairs with another scale must have it folded into B; B's
    /// rows of `llama` q/k projections are put in llama.cpp's rotary order, like the base weights.
    /// - Throws: ``GGUFExportError`` for a layer with no GGUF name, mismatched shapes, or on I/O failure.
    public static func saveLoRA(_ pairs: [String: LoRAPair], alpha: Float, for model: any CausalLanguageModel, to url: URL) throws {
        try loraWriter(pairs, alpha: alpha, for: model).write(to: url)
    }

    /// The file ``saveLoRA(_:alpha:for:to:)`` writes.
    public static func loraWriter(_ pairs: [String: LoRAPair], alpha: Float, for model: any CausalLanguageModel) throws -> GGUFWriter {
        let layout = try GGUFArchitectureLayout(model)
        guard !pairs.isEmpty else { throw GGUFExportError.unsupportedModel("the adapter has no LoRA layers") }
        var w = GGUFWriter()
        w.set("general.architecture", .string(layout.architecture))
        w.set("general.type", .string("adapter"))
        w.set("general.name", .string("tailor-lora"))
        w.set("adapter.type", .string("lora"))
        w.set("adapter.lora.alpha", .float32(alpha))
        var entries: [(key: (Int, Int, String), name: String, a: Tensor, b: Tensor)] = []
        for (path, pair) in pairs {
            guard let name = GGUFTensorNaming.gguf(path + ".weight", family: layout.family) else {
                throw GGUFExportError.invalidTensor(name: path, reason: "this layer has no GGUF name")
            }
            let r = pair.a.shape.first ?? 0
            guard pair.a.rank == 2, pair.b.rank == 2, r > 0, pair.b.shape[1] == r else {
                throw GGUFExportError.invalidTensor(name: path, reason: "A \(pair.a.shape) and B \(pair.b.shape) are not [r, In] and [Out, r]")
            }
            let b = try layout.transformed(pair.b, name: name)
            entries.append((GGUFArchitectureLayout.order(name), name, pair.a, b))
        }
        for e in entries.sorted(by: { $0.key < $1.key }) {
            try w.add(e.name + ".lora_a", e.a, as: .f32)
            try w.add(e.name + ".lora_b", e.b, as: .f32)
        }
        return w
    }
}
