import Tensor

/// A node of a model's module tree, named like its Hugging Face counterpart.
///
/// Parameters and sub-modules are addressable by dotted paths (`model.layers.3.self_attn.q_proj`),
/// and any sub-module can be replaced by path — the one primitive that quantization and every
/// PEFT method use to wrap layers.
public protocol Module: AnyObject {
    /// Direct sub-modules with their names.
    var children: [(name: String, module: any Module)] { get }
    /// Parameters owned directly by this module ("weight", "bias", …).
    var localParameters: [(name: String, parameter: Parameter)] { get }
    /// Replaces the direct sub-module `name`; throws when there is no such slot or the new module
    /// does not fit it.
    func replaceChild(named name: String, with module: any Module) throws
}

/// Errors from addressing modules and parameters by path.
public enum ModuleError: Error, Equatable, CustomStringConvertible {
    /// No module or parameter at this path.
    case noSuchPath(String)
    /// The replacement does not fit the slot (wrong kind of module or wrong shape).
    case incompatibleReplacement(path: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchPath(let p): return "no module or parameter at '\(p)'"
        case .incompatibleReplacement(let p, let r): return "cannot replace '\(p)': \(r)"
        }
    }
}

extension Module {
    /// Default: no parameters of its own.
    public var localParameters: [(name: String, parameter: Parameter)] { [] }
    /// Default: no children.
    public var children: [(name: String, module: any Module)] { [] }
    /// Default: no replaceable children.
    public func replaceChild(named name: String, with module: any Module) throws {
        throw ModuleError.noSuchPath(name)
    }

    /// Every parameter in the tree, by dotted path, in a stable order.
    public func namedParameters(prefix: String = "") -> [(name: String, parameter: Parameter)] {
        var out = localParameters.map { (prefix + $0.name, $0.parameter) }
        for (name, child) in children { out += child.namedParameters(prefix: prefix + name + ".") }
        return out
    }

    /// Every module in the tree (this one first, as ""), by dotted path.
    public func namedModules(prefix: String = "") -> [(name: String, module: any Module)] {
        var out: [(name: String, module: any Module)] = [(prefix.isEmpty ? "" : String(prefix.dropLast()), self)]
        for (name, child) in children { out += child.namedModules(prefix: prefix + name + ".") }
        return out
    }

    /// The module at a dotted path ("" is this module).
    public func module(at path: String) throws -> any Module {
        var current: any Module = self
        for part in path.split(separator: ".") where !path.isEmpty {
            guard let next = current.children.first(where: { $0.name == part })?.module else {
                throw ModuleError.noSuchPath(path)
            }
            current = next
        }
        return current
    }

    /// Replaces the module at a dotted path.
    public func replaceModule(at path: String, with module: any Module) throws {
        guard let dot = path.lastIndex(of: ".") else { return try replaceChild(named: path, with: module) }
        try self.module(at: String(path[..<dot])).replaceChild(named: String(path[path.index(after: dot)...]), with: module)
    }

    /// The parameter at a dotted path.
    public func parameter(at path: String) throws -> Parameter {
        guard let p = namedParameters().first(where: { $0.name == path })?.parameter else { throw ModuleError.noSuchPath(path) }
        return p
    }

    /// Marks every parameter in the tree trainable or frozen.
    public func setTrainable(_ trainable: Bool) {
        for (_, p) in namedParameters() { p.isTrainable = trainable }
    }

    /// Total number of scalars in the tree's parameters (optionally only trainable ones).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        namedParameters().filter { !trainableOnly || $0.parameter.isTrainable }.reduce(0) { $0 + $1.parameter.value.count }
    }
}

/// How strictly ``Module/update(parameters:verify:)`` checks names.
public enum ParameterUpdateCheck: Sendable {
    /// Every given tensor must name a parameter, and every parameter must be given.
    case exact
    /// Every given tensor must name a parameter; others keep their values.
    case subset
}

extension Module {
    /// Assigns tensors to the parameters at their paths, checking everything before changing
    /// anything: unknown names (and, with `.exact`, missing ones) and shape mismatches throw a
    /// ``WeightLoadError`` naming the tensor.
    public func update(parameters tensors: [String: Tensor], verify: ParameterUpdateCheck = .exact) throws {
        var byName: [String: Parameter] = [:]
        for (name, p) in namedParameters() { byName[name] = p }
        try update(parameters: tensors, in: byName, verify: verify)
    }

    /// ``update(parameters:verify:)`` over a chosen set of parameters (e.g. only the trainable ones).
    public func update(parameters tensors: [String: Tensor], in parameters: [String: Parameter], verify: ParameterUpdateCheck) throws {
        if let unknown = tensors.keys.sorted().first(where: { parameters[$0] == nil }) { throw WeightLoadError.unexpectedTensors([unknown]) }
        if verify == .exact, let missing = parameters.keys.sorted().first(where: { tensors[$0] == nil }) {
            throw WeightLoadError.missingTensor(missing)
        }
        for (name, t) in tensors where t.shape != parameters[name]!.shape {
            throw WeightLoadError.shapeMismatch(name: name, expected: parameters[name]!.shape, actual: t.shape)
        }
        for (name, t) in tensors { try parameters[name]!.assign(t) }
    }
}
