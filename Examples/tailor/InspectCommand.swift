import ArgumentParser
import Foundation
import Tailor

/// `tailor inspect`: describe a model (and adapter).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show architecture, parameter count, tensor types and adapter configuration.")

    @OptionGroup var model: ModelOptions

    func run() throws {
        let url = try model.modelURL()
        var lines: [String] = ["model: \(url.path)"]
        if url.pathExtension.lowercased() == "gguf" {
            let file = try GGUFFile(contentsOf: url)
            lines.append("format: GGUF v\(file.version), \(file.tensors.count) tensors, \(file.fileSize) bytes")
            var types: [String: Int] = [:]
            for t in file.tensors { types["\(t.type)", default: 0] += 1 }
            lines.append("tensor types: " + types.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        let m = try LanguageModel.loadModel(from: url, keepQuantized: true)
        let d = m.description
        lines.append("architecture: \(d.modelType), \(d.layerCount) layers, hidden \(d.hiddenSize), heads \(d.headCount)/\(d.kvHeadCount) (head dim \(d.headDimension)), vocabulary \(d.vocabularySize), context \(d.maxPositions)")
        let dense = m.parameterCount()
        let quantized = m.namedModules().reduce(0) { total, entry in
            if let q = entry.module as? QuantizedLinear { return total + q.weight.rows * q.weight.columns }
            if let e = entry.module as? QuantizedEmbedding { return total + e.table.rows * e.table.columns }
            return total
        }
        lines.append("parameters: \(dense + quantized) (\(quantized) in quantized blocks)")
        if let adapter = model.adapter {
            let folder = try AdapterFolder(at: URL(fileURLWithPath: adapter))
            let method = type(of: folder.configuration).peftType
            let scalars = folder.weights.values.reduce(0) { $0 + $1.count }
            let data = try JSONEncoder().encode(folder.configuration)
            lines.append("adapter: \(method), \(folder.weights.count) tensors, \(scalars) parameters " + (String(data: data, encoding: .utf8) ?? ""))
        }
        print(lines.joined(separator: "\n"))
    }
}
