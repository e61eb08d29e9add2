import ArgumentParser
import Foundation
import Tailor

/// `tailor export`: write a model, with an adapter merged in, as GGUF (llama.cpp) or as a Hugging Face
/// safetensors folder; or a LoRA adapter alone as a llama.cpp adapter GGUF.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a model (an adapter merged in) as GGUF for llama.cpp or as safetensors for transformers.",
        discussion: """
            --format gguf writes one .gguf file with the tokenizer and chat template (from the model's GGUF \
            or tokenizer.json); --adapter-only writes just the LoRA adapter as a llama.cpp adapter GGUF \
            (llama.cpp: --lora FILE on the base model's GGUF). --format safetensors writes a folder like \
            'tailor merge'. --quant q4_k, q5_k and q6_k write the bytes llama-quantize --pure writes \
            (ggml's reference quantizers, no importance matrix): matrices whose rows are not whole 256-value \
            blocks fall back to q5_0, q5_1 and q8_0, as llama-quantize does. Fewer bits cost quality: \
            q6_k is close to q8_0, q4_k is the smallest and lossiest.
            """)

    @Option(help: "gguf or safetensors.") var format: String
    @Option(help: "GGUF weight matrices: \(GGUFExport.WeightType.allCases.map(\.rawValue).joined(separator: ", ")) (default f16). Safetensors are always f32.")
    var quant: String?
    @Option(name: .shortAndLong, help: "Model folder or .gguf (default: the cached default model).") var model: String?
    @Option(help: "A PEFT adapter folder to merge in (LoRA, DoRA, IA3; prompt/prefix tuning cannot be merged).") var adapter: String?
    @Flag(help: "With --format gguf and a LoRA --adapter: write only the adapter, as a llama.cpp adapter GGUF.") var adapterOnly = false
    @Option(name: .shortAndLong, help: "Output: a .gguf file, or a folder for safetensors.") var output: String

    func run() throws {
        let format = self.format.lowercased()
        guard format == "gguf" || format == "safetensors" else { throw ValidationError("--format must be gguf or safetensors, not '\(self.format)'") }
        var weightType = GGUFExport.WeightType.f16
        if let quant {
            guard let t = GGUFExport.WeightType(rawValue: quant.lowercased()) else {
                throw ValidationError("--quant must be one of \(GGUFExport.WeightType.allCases.map(\.rawValue).joined(separator: ", ")), not '\(quant)'")
            }
            guard format == "gguf" || t == .f32 else { throw ValidationError("--format safetensors writes f32 weights; drop --quant or use gguf") }
            weightType = t
        }
        if adapterOnly {
            guard format == "gguf" else { throw ValidationError("--adapter-only needs --format gguf") }
            guard adapter != nil else { throw ValidationError("--adapter-only needs --adapter") }
        }
        let url = try ModelOptions.parse(model.map { ["--model", $0] } ?? []).modelURL()
        let m = try LanguageModel.loadModel(from: url)
        if let adapter { try Adapters.load(from: URL(fileURLWithPath: adapter), into: m) }
        let out = URL(fileURLWithPath: output)
        if format == "safetensors" {
            try Adapters.merge(in: m)
            try ModelExport.save(m, to: out)
            try TokenizerExport.copy(from: url, to: out)
            print("safetensors model written to \(out.path)")
            return
        }
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        if adapterOnly {
            try Adapters.exportLoRAGGUF(of: m, to: out)
            print("llama.cpp LoRA adapter written to \(out.path)")
        } else {
            try Adapters.exportGGUF(m, to: out, weightType: weightType, source: url)
            print("\(weightType.rawValue) GGUF model written to \(out.path)")
        }
    }
}
