import Foundation
import Model
import Tensor

/// Adding, switching and listing bottleneck adapters (AdapterHub's `seq_bn`, `double_seq_bn` and
/// the other sequential `BnConfig`s) on Llama-family and GPT-2 models.
///
/// Adapters live in the two residual joins of every decoder block (`attention_adapters` after the
/// attention output, `output_adapters` after the feed-forward output), which this installs as
/// ``BottleneckAdapterSlot``s the first time an adapter is added.
public enum Bottleneck {
    /// Adds adapter `adapterName` to every decoder block the configuration selects, freezes all
    /// other parameters, and activates it.
    ///
    /// - Returns: the paths of the slots that got an adapter.
    @discardableResult
    public static func apply(_ configuration: BottleneckConfiguration, to model: any CausalLanguageModel,
                             adapterName: String = "default", seed: UInt64 = 0) throws -> [String] {
        try configuration.validate()
        let configuration = configuration.recordingFacts(of: model)
        let hidden = model.description.hiddenSize
        var plan: [(path: String, adapter: BottleneckAdapter)] = []
        var rng = SeededRandom(seed: seed)
        for (index, block) in try decoderBlocks(in: model) {
            for location in BottleneckLocation.allCases where configuration.hasAdapter(at: location, layer: index) {
                let size = try configuration.bottleneckSize(layer: index, hiddenSize: hidden)
                let adapter = try BottleneckAdapter(hiddenSize: hidden, bottleneckSize: size, configuration: configuration,
                                                    seed: rng.next())
                plan.append((block + "." + location.rawValue, adapter))
            }
        }
        try install(plan, named: adapterName, in: model)
        makeTrainable(adapterName: adapterName, in: model)
        return plan.map(\.path)
    }

    /// Installs the planned adapters (slots created where missing) and activates `name` in every slot.
    static func install(_ plan: [(path: String, adapter: BottleneckAdapter)], named name: String, in model: any Module) throws {
        guard !name.isEmpty, !name.contains(".") else {
            throw BottleneckError.adapterName("adapter names must be non-empty and contain no '.', got '\(name)'")
        }
        guard !plan.isEmpty else { throw BottleneckError.invalidConfiguration("the configuration selects no adapter location") }
        if slots(in: model).contains(where: { $0.slot.adapters[name] != nil }) {
            throw BottleneckError.adapterName("a bottleneck adapter named '\(name)' already exists")
        }
        for (path, adapter) in plan { try slot(at: path, in: model).setAdapter(name, adapter) }
        try setActiveAdapter(name, in: model)
    }

    /// The slot at `path`, installed in place of the block's plain residual join when needed.
    static func slot(at path: String, in model: any Module) throws -> BottleneckAdapterSlot {
        if let existing = try? model.module(at: path), let slot = existing as? BottleneckAdapterSlot { return slot }
        let location = BottleneckLocation.allCases.first { path.hasSuffix("." + $0.rawValue) } ?? .output
        let slot = BottleneckAdapterSlot(location: location)
        do { try model.replaceModule(at: path, with: slot) } catch {
            throw BottleneckError.unsupportedModel("no residual join '\(path)' to hold an adapter (\(error))")
        }
        return slot
    }

    /// The decoder blocks (`model.layers.N`, `transformer.h.N`) by index, in order.
    public static func decoderBlocks(in model: any Module) throws -> [(index: Int, path: String)] {
        let blocks = model.namedModules().compactMap { path, _ -> (index: Int, path: String)? in
            let parts = path.split(separator: ".")
            guard parts.count >= 2, let index = Int(parts[parts.count - 1]), ["layers", "h"].contains(parts[parts.count - 2]) else {
                return nil
            }
            return (index, path)
        }
        guard !blocks.isEmpty else { throw BottleneckError.unsupportedModel("no decoder blocks (model.layers.N or transformer.h.N)") }
        return blocks.sorted { $0.index < $1.index }
    }

    /// Every bottleneck slot in the model, by path.
    public static func slots(in model: any Module) -> [(path: String, slot: BottleneckAdapterSlot)] {
        model.namedModules().compactMap { path, m in (m as? BottleneckAdapterSlot).map { (path, $0) } }
    }

    /// Names of the bottleneck adapters in the model.
    public static func adapterNames(in model: any Module) -> [String] {
        Array(Set(slots(in: model).flatMap { $0.slot.adapters.keys })).sorted()
    }

    /// Activates `name` (or none) in every slot; slots without that adapter (left-out blocks) join plainly.
    public static func setActiveAdapter(_ name: String?, in model: any Module) throws {
        let all = slots(in: model)
        if let name, !all.contains(where: { $0.slot.adapters[name] != nil }) {
            throw BottleneckError.adapterName("no bottleneck adapter named '\(name)'")
        }
        for (_, s) in all { try s.setActiveAdapter(name.flatMap { s.adapters[$0] == nil ? nil : $0 }) }
    }

    /// Removes adapter `name` from every slot.
    public static func removeAdapter(_ name: String, from model: any Module) {
        for (_, s) in slots(in: model) { s.removeAdapter(name) }
    }

    /// The adapter's parameters under AdapterHub's saved key names
    /// (`model.layers.0.output_adapters.adapters.NAME.adapter_down.0.weight`), in model order.
    public static func adapterParameters(in model: any Module, adapterName: String = "default") -> [(key: String, parameter: Parameter)] {
        slots(in: model).flatMap { path, slot -> [(key: String, parameter: Parameter)] in
            guard let adapter = slot.adapters[adapterName] else { return [] }
            return adapter.namedParameters(prefix: "\(path).adapters.\(adapterName).").map { ($0.name, $0.parameter) }
        }
    }

    /// Marks the named adapter's parameters trainable and everything else frozen.
    public static func makeTrainable(adapterName: String = "default", in model: any Module) {
        model.setTrainable(false)
        for (_, p) in adapterParameters(in: model, adapterName: adapterName) { p.isTrainable = true }
    }
}
