/// An ordered list of sub-modules named "0", "1", … (PyTorch's `nn.ModuleList`).
public final class ModuleList<Element: Module>: Module {
    /// The modules.
    public private(set) var items: [Element]

    /// Wraps modules.
    public init(_ items: [Element]) { self.items = items }

    public var children: [(name: String, module: any Module)] {
        items.enumerated().map { (String($0.offset), $0.element as any Module) }
    }

    public func replaceChild(named name: String, with module: any Module) throws {
        guard let i = Int(name), items.indices.contains(i) else { throw ModuleError.noSuchPath(name) }
        guard let m = module as? Element else {
            throw ModuleError.incompatibleReplacement(path: name, reason: "expected \(Element.self)")
        }
        items[i] = m
    }
}
