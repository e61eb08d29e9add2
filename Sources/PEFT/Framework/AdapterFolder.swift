import Foundation
import Model
import Tensor

/// An adapter folder on disk — PEFT's (`adapter_config.json` with a `peft_type`, and
/// `adapter_model.safetensors`) or another registered method's layout — read and identified.
public struct AdapterFolder {
    /// The folder.
    public let url: URL
    /// The method and settings the configuration file describes.
    public let configuration: any AdapterMethod
    /// The weights, keyed as in the file.
    public let weights: [String: Tensor]

    /// Reads `url`: finds the method whose configuration it holds, decodes it and reads the weights.
    /// A folder that holds no adapter configuration, or one of an unknown kind, gets a typed error
    /// naming what is supported.
    public init(at url: URL) throws {
        self.url = url
        let method = try Self.identify(url)
        let configURL = url.appendingPathComponent(method.configurationFileName)
        let data = try FileBytes.read(configURL)
        do { configuration = try method.decodeConfiguration(from: data) } catch let e as AdapterError {
            throw e
        } catch {
            throw ModelLoadError.malformedFile(path: configURL.path, reason: "\(error)")
        }
        let weightsURL = url.appendingPathComponent(method.weightsFileName)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("adapter_model.bin").path) {
                throw AdapterError.unsupported("pickled adapter weights (adapter_model.bin); save with safetensors")
            }
            throw ModelLoadError.missingFile(weightsURL.path)
        }
        let file = try SafetensorsFile(contentsOf: weightsURL)
        var weights: [String: Tensor] = [:]
        for name in file.tensorNames { weights[name] = try file.tensor(named: name) }
        self.weights = weights
    }

    /// The registered method whose configuration file `url` holds.
    public static func identify(_ url: URL) throws -> any AdapterMethod.Type {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AdapterError.notAnAdapterFolder(path: url.path, reason: "no such folder (an adapter folder holds adapter_config.json and its weights)")
        }
        let names = Set(AdapterRegistry.methods.map { $0.configurationFileName })
        var seenConfiguration: String?
        for name in names.sorted() {
            let file = url.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            seenConfiguration = name
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelLoadError.malformedFile(path: file.path, reason: "not a JSON object")
            }
            if let m = AdapterRegistry.methods.first(where: { $0.configurationFileName == name && $0.recognizes(json) }) { return m }
            if let type = json["peft_type"] as? String {
                throw AdapterError.unknownMethod(type, supported: AdapterRegistry.supportedTypes)
            }
        }
        let reason = seenConfiguration.map {
            "\($0) names no known method (no peft_type); supported: \(AdapterRegistry.supportedTypes.joined(separator: ", "))"
        } ?? "no \(names.sorted().joined(separator: " or "))"
        throw AdapterError.notAnAdapterFolder(path: url.path, reason: reason)
    }
}
