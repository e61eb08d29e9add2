import Foundation
import Model
import Tensor

/// One fine-tuning method, as its configuration: a value that says how to build an adapter, and
/// that is saved with it (`adapter_config.json`).
///
/// A method installs ``MethodAdapterLayer``s into the model — around linear layers, into residual
/// joins, or as the model's `prompt_encoder` — and says how its weights are named on disk. All the
/// rest (applying, loading, saving, switching, merging, making trainable) is written once in
/// ``Adapters`` for every method.
public protocol AdapterMethod: Codable, Sendable {
    /// The method's registry key: PEFT's `peft_type` ("LORA", "IA3", …).
    static var peftType: String { get }
    /// Name of the configuration file in an adapter folder.
    static var configurationFileName: String { get }
    /// Name of the weights file in an adapter folder.
    static var weightsFileName: String { get }
    /// Whether a parsed `adapter_config.json` describes this method.
    static func recognizes(_ configuration: [String: Any]) -> Bool
    /// Decodes the configuration file.
    static func decodeConfiguration(from data: Data) throws -> Self
    /// The method's configuration with its defaults.
    static func defaultConfiguration() throws -> Self

    /// Checks the settings.
    func validate() throws
    /// Adds a fresh, trainable adapter `name`; returns the module paths it installed layers at.
    func install(into model: any CausalLanguageModel, name: String, seed: UInt64) throws -> [String]
    /// Adds adapter `name` from saved weights keyed as in the weights file; checks every tensor
    /// against the model before changing it.
    func install(into model: any CausalLanguageModel, name: String, weights: [String: Tensor]) throws -> [String]
    /// The weights of adapter `name` keyed as in the weights file.
    func weights(of name: String, in model: any CausalLanguageModel) throws -> [String: Tensor]
    /// The configuration file's contents for adapter `name`.
    func encodeConfiguration(adapterName: String) throws -> Data
    /// PEFT's `modules_to_save`: base modules the adapter trains and saves as full copies.
    var savedModuleNames: [String] { get }
}

extension AdapterMethod {
    public static var configurationFileName: String { "adapter_config.json" }
    public static var weightsFileName: String { "adapter_model.safetensors" }

    public static func recognizes(_ configuration: [String: Any]) -> Bool {
        (configuration["peft_type"] as? String) == peftType
    }

    public static func decodeConfiguration(from data: Data) throws -> Self {
        try JSONDecoder().decode(Self.self, from: data)
    }

    public static func defaultConfiguration() throws -> Self {
        try JSONDecoder().decode(Self.self, from: Data("{}".utf8))
    }

    public var savedModuleNames: [String] { [] }

    public func encodeConfiguration(adapterName: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

/// An adapter layer made by a method of this framework: it remembers each adapter's configuration
/// (so saving needs none passed again) and can fold its adapter into the base where the method
/// defines that.
public protocol MethodAdapterLayer: AdapterLayer {
    /// The configuration adapter `name` was made with.
    func configuration(ofAdapter name: String) -> (any AdapterMethod)?
    /// The adapter currently merged into the base weights, if any.
    var mergedAdapter: String? { get }
    /// Folds the active adapter into the base weights.
    func merge() throws
    /// Takes the merged adapter back out of the base weights.
    func unmerge() throws
}

extension MethodAdapterLayer {
    public var mergedAdapter: String? { nil }
    public func merge() throws { throw AdapterError.unsupported("merging a \(type(of: self)) adapter into the base weights") }
    public func unmerge() throws {}
}
