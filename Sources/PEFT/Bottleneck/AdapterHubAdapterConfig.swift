import Foundation

/// AdapterHub's `adapter_config.json`: the adapter's ``BottleneckConfiguration`` (`config`), its
/// name, and facts about the model it was made for.
public struct AdapterHubAdapterConfig: Sendable, Equatable, Decodable {
    /// The `config` block (a preset name such as "seq_bn" in old files is expanded).
    public var configuration: BottleneckConfiguration
    /// The adapter's name, which its tensor keys contain.
    public var name: String
    /// `hidden_size` of the model it was made for.
    public var hiddenSize: Int?
    /// `model_type` ("llama", "gpt2", …).
    public var modelType: String?
    /// `model_class` ("LlamaForCausalLM", …).
    public var modelClass: String?
    /// `model_name`, the base model's name or path.
    public var modelName: String?
    /// `version`, e.g. "adapters.1.3.0".
    public var version: String?

    /// The format version this writer follows. Its presence also tells AdapterHub not to apply the
    /// renames it applies to files of the old `adapter-transformers` (`gelu` → `gelu_new`).
    public static let formatVersion = "adapters.1.3.0"

    /// A description of an adapter for a model.
    public init(configuration: BottleneckConfiguration, name: String, hiddenSize: Int?, modelType: String?,
                modelClass: String? = nil, modelName: String? = nil, version: String? = formatVersion) {
        self.configuration = configuration
        self.name = name
        self.hiddenSize = hiddenSize
        self.modelType = modelType
        self.modelClass = modelClass
        self.modelName = modelName
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case configuration = "config", name, hiddenSize = "hidden_size", modelType = "model_type"
        case modelClass = "model_class", modelName = "model_name", version
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard c.contains(.configuration), try !c.decodeNil(forKey: .configuration) else {
            throw BottleneckError.invalidConfiguration("'config' is missing (not an adapter configuration)")
        }
        if let preset = try? c.decode(String.self, forKey: .configuration) {
            configuration = try .preset(named: preset)
        } else {
            configuration = try c.decode(BottleneckConfiguration.self, forKey: .configuration)
        }
        guard let name = try? c.decodeIfPresent(String.self, forKey: .name), !name.isEmpty else {
            throw BottleneckError.invalidConfiguration("'name' is missing")
        }
        self.name = name
        hiddenSize = try? c.decodeIfPresent(Int.self, forKey: .hiddenSize)
        modelType = try? c.decodeIfPresent(String.self, forKey: .modelType)
        modelClass = try? c.decodeIfPresent(String.self, forKey: .modelClass)
        modelName = try? c.decodeIfPresent(String.self, forKey: .modelName)
        version = try? c.decodeIfPresent(String.self, forKey: .version)
        // Files of the old adapter-transformers (no version) name activations differently.
        if version == nil, let renamed = ["gelu": "gelu_new", "gelu_orig": "gelu"][configuration.nonLinearity] {
            configuration.nonLinearity = renamed
        }
    }

    /// The file's JSON, keys as AdapterHub writes them.
    public var adapterHubJSON: AdapterHubJSON {
        func text(_ s: String?) -> AdapterHubJSON { s.map { .string($0) } ?? .null }
        return .object([
            "config": configuration.adapterHubJSON, "name": .string(name), "hidden_size": hiddenSize.map { .int($0) } ?? .null,
            "model_type": text(modelType), "model_class": text(modelClass), "model_name": text(modelName), "version": text(version),
        ])
    }
}
