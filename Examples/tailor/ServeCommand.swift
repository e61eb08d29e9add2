import ArgumentParser
import Foundation
import Logging
import Serve
import Tailor

/// `tailor serve`: an OpenAI-compatible HTTP server with continuous batching.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over an OpenAI-compatible HTTP API (completions, chat, streaming, metrics).")

    @Option(name: .shortAndLong, help: "A model folder or a .gguf file. Default: the cached default model.")
    var model: String?
    @Flag(help: "Keep GGUF weights in their quantized format (less memory).")
    var quantized = false
    @Option(help: "Quantize the dense linear layers on load: nf4, fp4 or int8.")
    var quantize: WeightQuantization?
    @Option(help: ArgumentHelp("A LoRA adapter to serve, as NAME=DIR (repeatable); requests pick it with \"model\": NAME.",
                               valueName: "name=dir"))
    var adapter: [String] = []
    @Option(help: "The id the base model is served under (default: the model file or folder name).")
    var modelName: String?
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Most sequences decoded together.") var maxBatchSize = 8
    @Option(help: "Most requests waiting for a place in the batch; more get HTTP 429.") var maxQueue = 32
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be in 1...65535") }
        guard maxBatchSize >= 1 else { throw ValidationError("--max-batch-size must be at least 1") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be ≥ 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        for spec in adapter { _ = try Self.parseAdapter(spec) }
    }

    func run() throws {
        let url = try modelURL()
        if quantize != nil && quantized { throw CLIError("--quantize and --quantized exclude each other") }
        let loaded = try quantize.map { try LanguageModel.loadModel(from: url, quantize: $0) }
            ?? LanguageModel.loadModel(from: url, keepQuantized: quantized)
        let tokenizer = try TokenizerLoader.load(from: url)
        for spec in adapter {
            let (name, directory) = try Self.parseAdapter(spec)
            try Adapters.load(from: URL(fileURLWithPath: directory), into: loaded, name: name)
        }
        // Requests choose adapters per batch row; none is active on the shared model.
        if !adapter.isEmpty { try Adapters.setActiveAdapter(nil, in: loaded) }
        var logger = Logger(label: "tailor.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let name = modelName ?? url.deletingPathExtension().lastPathComponent
        let options = BatchScheduler.Options(maxBatchSize: maxBatchSize, maxQueuedRequests: maxQueue)
        let (host, port) = (self.host, self.port)
        let template = ChatTemplate.for(tokenizer: tokenizer)
        let scheduler = BatchScheduler(model: loaded, tokenizer: tokenizer, options: options, logger: logger)
        let finished = DispatchSemaphore(value: 0)
        Task {
            let server = OpenAIServer(scheduler: scheduler, modelName: name, chatTemplate: template, logger: logger)
            logger.notice("serving \(name) on http://\(host):\(port)", metadata: ["adapters": "\(scheduler.adapterNames)"])
            do {
                try await server.run(host: host, port: port)
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                Foundation.exit(1)
            }
            finished.signal()
        }
        finished.wait()
    }

    private func modelURL() throws -> URL {
        let url = model.map { URL(fileURLWithPath: $0) } ?? DefaultModel.url
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CLIError(model == nil ? "the default model is not downloaded yet: run Scripts/fetch-default-model.sh, or pass --model"
                                        : "no model at \(url.path)")
        }
        return url
    }

    /// `NAME=DIR` → (NAME, DIR).
    static func parseAdapter(_ spec: String) throws -> (name: String, directory: String) {
        guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex, spec.index(after: eq) != spec.endIndex else {
            throw ValidationError("--adapter takes NAME=DIR, got '\(spec)'")
        }
        return (String(spec[..<eq]), String(spec[spec.index(after: eq)...]))
    }
}
