import ArgumentParser
import Foundation
import Tailor

/// `tailor merge`: bake an adapter into the base weights and save a Hugging Face folder.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge a LoRA adapter into the model and save safetensors + config + tokenizer that transformers can load.")

    @Option(name: .shortAndLong, help: "Base model folder or .gguf (default: the cached default model).") var model: String?
    @Option(help: "The PEFT adapter folder to merge.") var adapter: String
    @Option(name: .shortAndLong, help: "Output folder.") var output: String

    func run() throws {
        let options = try ModelOptions.parse(model.map { ["--model", $0] } ?? [])
        let url = try options.modelURL()
        let m = try LanguageModel.loadModel(from: url)
        try Adapters.load(from: URL(fileURLWithPath: adapter), into: m)
        try Adapters.merge(in: m)
        let out = URL(fileURLWithPath: output)
        try ModelExport.save(m, to: out)
        try TokenizerExport.copy(from: url, to: out)
        print("merged model written to \(out.path)")
    }
}
