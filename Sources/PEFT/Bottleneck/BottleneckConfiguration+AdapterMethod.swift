import Foundation
import Model
import Tensor

/// Bottleneck adapters as a method of the adapter framework, registered as `BOTTLENECK`, in
/// AdapterHub's folder format: `adapter_config.json` with a `config` block (and no `peft_type`,
/// which is how the framework tells it from PEFT's) and `adapter.safetensors` with keys such as
/// `model.layers.0.output_adapters.adapters.NAME.adapter_down.0.weight`.
extension BottleneckConfiguration: AdapterMethod {
    /// The registry key.
    public static let peftType = "BOTTLENECK"
    /// AdapterHub's weights file (`save_adapter(…, use_safetensors=True)`).
    public static var weightsFileName: String { "adapter.safetensors" }

    /// An AdapterHub file: a `config` block and no `peft_type`.
    public static func recognizes(_ configuration: [String: Any]) -> Bool {
        configuration["peft_type"] == nil && configuration["config"] != nil
    }

    /// Reads AdapterHub's `adapter_config.json` (a `config` block — settings or a preset name such
    /// as "seq_bn" — with the model facts beside it), or a bare `config` block.
    public static func decodeConfiguration(from data: Data) throws -> Self {
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        if object?["config"] != nil { return try JSONDecoder().decode(AdapterHubAdapterConfig.self, from: data).configuration }
        return try JSONDecoder().decode(Self.self, from: data)
    }

    /// AdapterHub's `seq_bn` (Pfeiffer).
    public static func defaultConfiguration() throws -> Self { .seqBottleneck() }

    /// AdapterHub's `adapter_config.json` for adapter `adapterName`.
    public func encodeConfiguration(adapterName: String) throws -> Data {
        Data((AdapterHubAdapterConfig(configuration: self, name: adapterName).adapterHubJSON.rendered() + "\n").utf8)
    }

    public func install(into model: any CausalLanguageModel, name: String, seed: UInt64) throws -> [String] {
        let made = recordingFacts(of: model)
        var rng = SeededRandom(seed: seed)
        let plan = try Bottleneck.plan(made, in: model) { _, hidden, width in
            try BottleneckAdapter(hiddenSize: hidden, bottleneckSize: width, configuration: made, seed: rng.next())
        }
        try Bottleneck.install(plan, named: name, in: model)
        return plan.map(\.path)
    }

    /// Every tensor must belong to a location the configuration enables, in a block the model has,
    /// with the shape the configuration and the model's width give; every expected tensor must be
    /// there. The adapter name inside the keys may differ from `name`.
    public func install(into model: any CausalLanguageModel, name: String, weights: [String: Tensor]) throws -> [String] {
        let made = recordingFacts(of: model)
        let saved = try Bottleneck.savedName(in: weights.keys)
        var unused = Set(weights.keys)
        let plan = try Bottleneck.plan(made, in: model) { path, hidden, width in
            let adapter = try BottleneckAdapter(hiddenSize: hidden, bottleneckSize: width, configuration: made, seed: 0)
            for (local, parameter) in adapter.localParameters {
                let key = "\(path).adapters.\(saved).\(local)"
                guard let tensor = weights[key] else {
                    throw AdapterError.incompatibleAdapter(tensor: key, "missing from the adapter's weights")
                }
                guard tensor.shape == parameter.shape else {
                    throw AdapterError.incompatibleAdapter(tensor: key, "shape \(tensor.shape), expected \(parameter.shape) for hidden size \(hidden)")
                }
                try parameter.assign(tensor)
                unused.remove(key)
            }
            return adapter
        }
        if let extra = unused.sorted().first {
            throw AdapterError.incompatibleAdapter(tensor: extra, Bottleneck.unexpectedReason(extra, configuration: made, in: model))
        }
        if let h = hiddenSize, h != model.description.hiddenSize {
            throw AdapterError.incompatibleAdapter("the adapter was made for hidden size \(h), the model has \(model.description.hiddenSize)")
        }
        try Bottleneck.install(plan, named: name, in: model)
        return plan.map(\.path)
    }

    /// The weights under AdapterHub's keys.
    public func weights(of name: String, in model: any CausalLanguageModel) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (path, slot) in model.adapterLayers(BottleneckAdapterSlot.self) {
            for (local, p) in slot.parameters(ofAdapter: name) { out[path + "." + local] = p.value }
        }
        return out
    }
}
