import Foundation
import Model

/// Which modules an adapter method wraps, as PEFT's `target_modules` says it.
public enum TargetModules: Sendable, Equatable, Codable {
    /// Module names matched as PEFT does: a module path equal to a name or ending in "." + name
    /// (e.g. `q_proj` matches `model.layers.3.self_attn.q_proj`).
    case names([String])
    /// A regular expression that must match the whole module path.
    case pattern(String)
    /// Every linear layer except the output head (PEFT's `all-linear`).
    case allLinear

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let list = try? c.decode([String].self) { self = .names(list); return }
        let s = try c.decode(String.self)
        self = s == "all-linear" ? .allLinear : .pattern(s)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .names(let n): try c.encode(n)
        case .pattern(let p): try c.encode(p)
        case .allLinear: try c.encode("all-linear")
        }
    }

    /// Whether the module at `path` is a target.
    public func matches(_ path: String) -> Bool {
        switch self {
        case .names(let names): return names.contains { Self.nameMatches($0, path) }
        case .pattern(let p): return Self.fullMatch(p, path)
        case .allLinear: return !Self.nameMatches("lm_head", path)
        }
    }

    /// Checks a pattern is a valid regular expression.
    func validate() throws {
        if case .pattern(let p) = self, (try? NSRegularExpression(pattern: p)) == nil {
            throw AdapterError.invalidConfiguration("target_modules is not a valid regular expression: \(p)")
        }
    }

    static func nameMatches(_ name: String, _ path: String) -> Bool { path == name || path.hasSuffix("." + name) }

    static func fullMatch(_ pattern: String, _ path: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: "^(?:" + pattern + ")$") else { return false }
        return re.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
    }
}

/// PEFT's module selection, shared by every method that wraps modules: `target_modules`,
/// `exclude_modules`, `layers_to_transform` and `layers_pattern`.
public struct TargetSelection: Sendable, Equatable {
    /// Modules to wrap.
    public var targets: TargetModules
    /// Modules never to wrap (names or a pattern, as `target_modules`).
    public var excluded: TargetModules?
    /// Only blocks with these indices (nil: all).
    public var layersToTransform: [Int]?
    /// The name of the block list that `layersToTransform` counts in (`layers`, `h`); nil: the
    /// architecture's own.
    public var layersPattern: [String]?

    /// A selection.
    public init(targets: TargetModules, excluded: TargetModules? = nil, layersToTransform: [Int]? = nil, layersPattern: [String]? = nil) {
        self.targets = targets
        self.excluded = excluded
        self.layersToTransform = layersToTransform
        self.layersPattern = layersPattern
    }

    /// Paths of the modules in `model` that pass `kind` and the selection, in model order.
    public func paths(in model: any CausalLanguageModel, where kind: (any Module) -> Bool) -> [String] {
        // Modules inside an adapter layer (a wrapped base, a saved copy) are never targets themselves.
        let insideAdapters = model.adapterLayers().map { $0.path + "." }
        return model.namedModules().compactMap { path, module in
            guard !path.isEmpty, kind(module), targets.matches(path), !(excluded?.matches(path) ?? false),
                  !insideAdapters.contains(where: { path.hasPrefix($0) }) else { return nil }
            if let layers = layersToTransform {
                guard let index = blockIndex(of: path, in: model), layers.contains(index) else { return nil }
            }
            return path
        }
    }

    /// Checks patterns compile.
    public func validate() throws {
        try targets.validate()
        try excluded?.validate()
    }

    private func blockIndex(of path: String, in model: any CausalLanguageModel) -> Int? {
        guard let patterns = layersPattern, !patterns.isEmpty else { return model.blockIndex(of: path) }
        let parts = path.split(separator: ".")
        for (i, p) in parts.enumerated() where patterns.contains(String(p)) && i + 1 < parts.count {
            if let n = Int(parts[i + 1]) { return n }
        }
        return nil
    }
}
