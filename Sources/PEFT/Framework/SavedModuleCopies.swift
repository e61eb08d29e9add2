import Model
import Tensor

/// PEFT's `modules_to_save`: a module of the base model (a head, an embedding, a norm) that an
/// adapter trains and saves as a whole. Each adapter gets its own full copy; the original stays
/// untouched and is used when no adapter (or another adapter without a copy here) is selected.
///
/// In the module tree the original sits at `original_module` and the copies at
/// `modules_to_save.<adapter>`, as in PEFT's `ModulesToSaveWrapper`; on disk a copy's tensors are
/// saved under the original module's own key names.
public final class SavedModuleCopies<Layer: DuplicableModule>: MethodAdapterLayer {
    /// The base model's module.
    public let original: Layer
    /// Each adapter's copy.
    public private(set) var copies: [String: Layer] = [:]
    /// The adapter whose copy is used under `.active` routing, if any.
    public private(set) var activeAdapter: String?
    /// The adapter whose copy's values are currently written into the original, if any.
    public private(set) var mergedAdapter: String?
    private var configurations: [String: any AdapterMethod] = [:]
    private var originalValues: [Tensor] = []

    /// Wraps `original` with no copies yet.
    public init(original: Layer) { self.original = original }

    public var adapterNames: [String] { copies.keys.sorted() }
    public var wrapped: (any Module)? { original }

    public var children: [(name: String, module: any Module)] {
        [("original_module", original), ("modules_to_save", CopyTable(copies: copies))]
    }

    public func parameters(ofAdapter name: String) -> [(name: String, parameter: Parameter)] {
        copies[name].map { copy in copy.namedParameters().map { ("modules_to_save.\(name).\($0.name)", $0.parameter) } } ?? []
    }

    public func configuration(ofAdapter name: String) -> (any AdapterMethod)? { configurations[name] }

    /// Adds adapter `name`'s copy: a fresh duplicate of the original, or `copy` when given (loaded weights).
    public func addCopy(_ name: String, copy: Layer? = nil, configuration: any AdapterMethod) throws {
        if mergedAdapter == name { try unmerge() }
        copies[name] = copy ?? original.duplicate()
        configurations[name] = configuration
    }

    public func removeAdapter(_ name: String) throws {
        if mergedAdapter == name { try unmerge() }
        copies[name] = nil
        configurations[name] = nil
        if activeAdapter == name { activeAdapter = nil }
    }

    public func setActiveAdapter(_ name: String?) throws {
        if let name, copies[name] == nil { throw AdapterError.adapterName("no adapter named '\(name)'") }
        if let merged = mergedAdapter, merged != name { try unmerge() }
        activeAdapter = name
    }

    /// The module that computes for adapter `name` (the original when it has no copy or is merged).
    func module(for name: String?) -> Layer {
        guard let name, name != mergedAdapter, let copy = copies[name] else { return original }
        return copy
    }

    /// The module for the current routing, when one module serves every row.
    var routedModule: Layer? {
        switch AdapterRouting.selection {
        case .active: return module(for: activeAdapter)
        case .base: return original
        case .perRow(let names):
            let modules = names.map { module(for: $0) }
            return modules.allSatisfy({ $0 === modules[0] }) ? modules[0] : nil
        }
    }

    /// Writes the active copy's values into the original (so the model can be exported as one).
    public func merge() throws {
        guard let name = activeAdapter, mergedAdapter == nil, let copy = copies[name] else { return }
        let targets = original.namedParameters().map(\.parameter)
        originalValues = targets.map(\.value)
        for (target, source) in zip(targets, copy.namedParameters().map(\.parameter)) { target.reset(to: source.value.copy()) }
        mergedAdapter = name
    }

    /// Restores the original values.
    public func unmerge() throws {
        guard mergedAdapter != nil else { return }
        for (target, value) in zip(original.namedParameters().map(\.parameter), originalValues) { target.reset(to: value) }
        originalValues = []
        mergedAdapter = nil
    }
}

/// The `modules_to_save` container: one child per adapter.
private final class CopyTable: Module {
    let copies: [(name: String, module: any Module)]
    init<Layer: Module>(copies: [String: Layer]) {
        self.copies = copies.sorted { $0.key < $1.key }.map { ($0.key, $0.value as any Module) }
    }
    var children: [(name: String, module: any Module)] { copies }
}

/// Applies `body` to each group of consecutive rows that routes to the same module.
private func groupedRows<Layer>(_ names: [String?], _ x: Tensor, _ module: (String?) -> Layer,
                                _ body: (Layer, Tensor) -> Tensor) -> Tensor {
    AdapterRouting.perRow(names, x, x) { name, rows, _ in body(module(name), rows) }
}

extension SavedModuleCopies: LinearLayer where Layer: LinearLayer {
    public var inFeatures: Int { original.inFeatures }
    public var outFeatures: Int { original.outFeatures }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let m = routedModule { return m(x) }
        guard case .perRow(let names) = AdapterRouting.selection else { return original(x) }
        return groupedRows(names, x, module(for:)) { $0($1) }
    }
}

extension SavedModuleCopies: NormLayer where Layer: NormLayer {
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let m = routedModule { return m(x) }
        guard case .perRow(let names) = AdapterRouting.selection else { return original(x) }
        return groupedRows(names, x, module(for:)) { $0($1) }
    }
}

extension SavedModuleCopies: EmbeddingLayer where Layer: EmbeddingLayer {
    public var count: Int { original.count }
    public var dimension: Int { original.dimension }

    public func callAsFunction(_ ids: [Int32], shape: [Int]) -> Tensor {
        if let m = routedModule { return m(ids, shape: shape) }
        guard case .perRow(let names) = AdapterRouting.selection, let rows = shape.first, rows == names.count, rows > 0 else {
            return original(ids, shape: shape)
        }
        let per = ids.count / rows
        var parts: [Tensor] = []
        var start = 0
        while start < rows {
            var end = start + 1
            while end < rows && names[end] == names[start] { end += 1 }
            let slice = Array(ids[(start * per)..<(end * per)])
            parts.append(module(for: names[start])(slice, shape: [end - start] + shape.dropFirst()))
            start = end
        }
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
    }

    /// A tied output head keeps projecting with the original table, as in PEFT, where the head
    /// shares the original embedding's weight and not the copy's.
    public func project(_ x: Tensor) -> Tensor { original.project(x) }
}
