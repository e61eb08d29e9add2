import Foundation
import Tensor

/// Writing a model as a Hugging Face folder (`config.json` + `model.safetensors`) that transformers loads.
public enum ModelExport {
    /// Saves `model`'s weights under their Hugging Face names, plus its `config.json`.
    ///
    /// Quantized layers are written dequantized (Float32). Adapter layers are written as the base
    /// they wrap — merge an adapter first to bake it in — and adapters that add modules of their own
    /// (bottlenecks, learned prefixes) are left out. GPT-2 projections are written in Hugging Face's
    /// Conv1D layout ([In, Out]).
    public static func save(_ model: any CausalLanguageModel, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        let (architecture, _) = try ArchitectureRegistry.exportConfiguration(of: model)
        collect(model, path: "", conv1D: architecture.conv1DSuffixes, into: &tensors)
        try SafetensorsWriter.write(tensors, to: directory.appendingPathComponent("model.safetensors"), metadata: ["format": "pt"])
        try configJSON(for: model).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
    }

    /// Adds the base weights of `module` (at `path`) and its children to `tensors`.
    static func collect(_ module: any Module, path: String, conv1D: [String], into tensors: inout [String: Tensor]) {
        if let adapter = module as? any AdapterLayer {
            if let base = adapter.wrapped { collect(base, path: path, conv1D: conv1D, into: &tensors) }
            return
        }
        let prefix = path.isEmpty ? "" : path + "."
        if let q = module as? QuantizedLinear {
            tensors[prefix + "weight"] = q.weight.dequantized()
        } else if let e = module as? QuantizedEmbedding {
            tensors[prefix + "weight"] = e.table.dequantized()
        }
        for (name, p) in module.localParameters {
            var value = p.value
            if name == "weight" && conv1D.contains(where: { path.hasSuffix($0) }) { value = value.transposed().detached }
            tensors[prefix + name] = value
        }
        for (name, child) in module.children { collect(child, path: prefix + name, conv1D: conv1D, into: &tensors) }
    }

    /// `config.json` contents for `model` (Float32 weights), from its architecture.
    static func configJSON(for model: any CausalLanguageModel) throws -> Data {
        var object = try ArchitectureRegistry.exportConfiguration(of: model).1
        object["torch_dtype"] = "float32"
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
