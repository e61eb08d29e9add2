import Foundation
import Model
import Tensor

/// Placing bottleneck adapters in a model's decoder blocks: which residual joins get one, the
/// slots that hold them, and the checks of saved tensors against the model.
enum Bottleneck {
    /// One adapter to install: the residual join's path and the adapter.
    typealias Placement = (path: String, adapter: BottleneckAdapter)

    /// An adapter for every (block, location) the configuration selects, in model order; `make`
    /// builds each from the join's path, the model's width and the bottleneck width.
    static func plan(_ configuration: BottleneckConfiguration, in model: any CausalLanguageModel,
                     make: (_ path: String, _ hidden: Int, _ width: Int) throws -> BottleneckAdapter) throws -> [Placement] {
        let d = model.description
        var plan: [Placement] = []
        for index in 0..<d.layerCount {
            for location in BottleneckLocation.allCases where configuration.hasAdapter(at: location, layer: index) {
                let path = "\(model.blockPath).\(index).\(location.rawValue)"
                plan.append((path, try make(path, d.hiddenSize, try configuration.bottleneckSize(layer: index, hiddenSize: d.hiddenSize))))
            }
        }
        guard !plan.isEmpty else {
            throw AdapterError.invalidConfiguration("the configuration puts no adapter in any block (mh_adapter, output_adapter, leave_out)")
        }
        return plan
    }

    /// Adds the planned adapters as `name`, creating the slots where a block has a plain join.
    /// Every slot is checked to be replaceable before any is changed.
    static func install(_ plan: [Placement], named name: String, in model: any Module) throws {
        guard !name.isEmpty, !name.contains(".") else {
            throw AdapterError.adapterName("adapter names must be non-empty and contain no '.', got '\(name)'")
        }
        var slots: [(path: String, slot: BottleneckAdapterSlot, isNew: Bool)] = []
        for (path, _) in plan {
            if let existing = try? model.module(at: path) {
                guard let slot = existing as? BottleneckAdapterSlot else {
                    throw AdapterError.incompatibleAdapter("'\(path)' already holds a \(type(of: existing))")
                }
                slots.append((path, slot, false))
            } else {
                let location = BottleneckLocation.allCases.first { path.hasSuffix("." + $0.rawValue) } ?? .output
                slots.append((path, BottleneckAdapterSlot(location: location), true))
            }
        }
        for (path, slot, isNew) in slots where isNew {
            do { try model.replaceModule(at: path, with: slot) } catch {
                throw AdapterError.incompatibleAdapter("no residual join '\(path)' to hold an adapter (\(error))")
            }
        }
        for ((_, adapter), (_, slot, _)) in zip(plan, slots) { slot.setAdapter(name, adapter) }
    }

    /// The adapter name inside saved keys (`….adapters.NAME.adapter_up.weight`); all keys must share one.
    static func savedName(in keys: some Collection<String>) throws -> String {
        var name: String?
        for key in keys.sorted() {
            let parts = key.components(separatedBy: ".adapters.")
            guard parts.count == 2, let n = parts[1].split(separator: ".").first.map(String.init), !n.isEmpty else {
                throw AdapterError.incompatibleAdapter(tensor: key, "not a bottleneck adapter tensor (no '.adapters.NAME.')")
            }
            if let name, name != n {
                throw AdapterError.incompatibleAdapter(tensor: key, "belongs to adapter '\(n)', the others to '\(name)'")
            }
            name = n
        }
        guard let name else { throw AdapterError.invalidConfiguration("the adapter file has no tensors") }
        return name
    }

    /// Why a saved tensor that no planned adapter uses does not fit.
    static func unexpectedReason(_ key: String, configuration: BottleneckConfiguration, in model: any CausalLanguageModel) -> String {
        let count = model.description.layerCount
        guard let index = model.blockIndex(of: key) else { return "not under \(model.blockPath).N" }
        guard index < count else { return "no decoder block \(index) (the model has \(count))" }
        for location in BottleneckLocation.allCases where key.hasPrefix("\(model.blockPath).\(index).\(location.rawValue).") {
            return configuration.hasAdapter(at: location, layer: index)
                ? "not a tensor of this adapter (a setting the configuration does not enable)"
                : "the configuration puts no adapter at \(location.rawValue) of block \(index)"
        }
        return "not a bottleneck adapter tensor"
    }
}

extension AdapterError {
    /// A saved tensor that does not fit the model, named first: `'<key>': <reason>`.
    static func incompatibleAdapter(tensor key: String, _ reason: String) -> AdapterError {
        .incompatibleAdapter("'\(key)': \(reason)")
    }
}
