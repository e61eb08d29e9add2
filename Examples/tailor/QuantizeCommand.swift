import ArgumentParser
import Foundation
import Tailor

/// `tailor quantize`: write a model as a bitsandbytes-quantized Hugging Face folder.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a model's linear layers to NF4 (double quantization) or INT8 and save the folder transformers + bitsandbytes load.")

    @Option(name: .shortAndLong, help: "Model folder or .gguf (default: the cached default model).") var model: String?
    @Option(help: "nf4, fp4 or int8.") var format: String
    @Option(name: .shortAndLong, help: "Output folder.") var output: String

    func run() throws {
        guard let quantization = WeightQuantization(rawValue: format.lowercased()) else {
            throw ValidationError("--format must be nf4, fp4 or int8, not '\(format)'")
        }
        let options = try ModelOptions.parse(model.map { ["--model", $0] } ?? [])
        let url = try options.modelURL()
        let m = try LanguageModel.loadModel(from: url, quantize: quantization)
        let out = URL(fileURLWithPath: output)
        try BitsAndBytesExport.save(m, to: out)
        try TokenizerExport.copy(from: url, to: out)
        print("\(quantization.rawValue) model written to \(out.path)")
    }
}
