import Foundation

/// AdapterHub's `adapter_config.json`: the adapter's ``BottleneckConfiguration`` (`config`, with
/// the model facts `hidden_size`, `model_type` and `model_name` beside it), its name and the format
/// version.
public struct AdapterHubAdapterConfig: Sendable, Equatable, Decodable {
    /// The `config` block and the model facts (a preset name such as "seq_bn" in old files is expanded).
    public var configuration: BottleneckConfiguration
    /// The adapter's name, which its tensor keys contain (optional when reading).
    public var name: String?
    /// `version`, e.g. "adapters.1.3.0".
    public var version: String?

    /// The format version this writer follows. Its presence also tells AdapterHub not to apply the
    /// renames it applies to files of the old `adapter-transformers` (`gelu` → `gelu_new`).
    public static let formatVersion = "adapters.1.3.0"

    /// The file for adapter `name`.
    public init(configuration: BottleneckConfiguration, name: String?, version: String? = formatVersion) {
        self.configuration = configuration
        self.name = name
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case configuration = "config", name, hiddenSize = "hidden_size", modelType = "model_type"
        case modelClass = "model_class", modelName = "model_name", version
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard c.contains(.configuration), try !c.decodeNil(forKey: .configuration) else {
            throw AdapterError.invalidConfiguration("'config' is missing (not an adapter configuration)")
        }
        if let preset = try? c.decode(String.self, forKey: .configuration) {
            configuration = try .preset(named: preset)
        } else {
            configuration = try c.decode(BottleneckConfiguration.self, forKey: .configuration)
        }
        name = try? c.decodeIfPresent(String.self, forKey: .name)
        configuration.hiddenSize = try? c.decodeIfPresent(Int.self, forKey: .hiddenSize)
        configuration.modelType = try? c.decodeIfPresent(String.self, forKey: .modelType)
        configuration.modelName = try? c.decodeIfPresent(String.self, forKey: .modelName)
        version = try? c.decodeIfPresent(String.self, forKey: .version)
        // Files of the old adapter-transformers (no version) name activations differently.
        if version == nil, let renamed = ["gelu": "gelu_new", "gelu_orig": "gelu"][configuration.nonLinearity] {
            configuration.nonLinearity = renamed
        }
    }

    /// The file's JSON, keys as AdapterHub writes them.
    public var adapterHubJSON: AdapterHubJSON {
        func text(_ s: String?) -> AdapterHubJSON { s.map { .string($0) } ?? .null }
        let c = configuration
        return .object([
            "config": c.adapterHubJSON, "name": text(name), "hidden_size": c.hiddenSize.map { .int($0) } ?? .null,
            "model_type": text(c.modelType), "model_class": text(c.modelType.flatMap(Self.modelClass)),
            "model_name": text(c.modelName), "version": text(version),
        ])
    }

    /// transformers' causal-LM class for a `model_type`, as AdapterHub records it.
    static func modelClass(_ modelType: String) -> String? {
        ["llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
         "gpt2": "GPT2LMHeadModel"][modelType]
    }
}
