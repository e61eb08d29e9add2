import Tensor

/// A source of named Float32 weights with Hugging Face names: a safetensors file or folder, a
/// GGUF file (names mapped, blocks dequantized), or tensors in memory.
public protocol WeightArchive {
    /// Every tensor name the archive holds.
    var tensorNames: [String] { get }
    /// The row-major shape of a tensor.
    func shape(of name: String) throws -> [Int]
    /// The tensor as Float32.
    func tensor(named name: String) throws -> Tensor
}

/// Weights held in memory, keyed by name.
public struct InMemoryWeights: WeightArchive {
    /// The tensors.
    public var tensors: [String: Tensor]

    /// Wraps a dictionary of tensors.
    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }

    public var tensorNames: [String] { tensors.keys.sorted() }

    public func shape(of name: String) throws -> [Int] {
        guard let t = tensors[name] else { throw WeightLoadError.missingTensor(name) }
        return t.shape
    }

    public func tensor(named name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw WeightLoadError.missingTensor(name) }
        return t
    }
}

/// Errors from matching an archive's tensors to a model's parameters.
public enum WeightLoadError: Error, Equatable, CustomStringConvertible {
    /// The model needs a tensor the archive lacks.
    case missingTensor(String)
    /// A tensor has the wrong shape for the model's configuration.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// The archive holds tensors the model does not use (no silent partial loads).
    case unexpectedTensors([String])

    public var description: String {
        switch self {
        case .missingTensor(let n): return "missing tensor '\(n)'"
        case .shapeMismatch(let n, let e, let a): return "tensor '\(n)' has shape \(a), expected \(e)"
        case .unexpectedTensors(let n): return "unused tensors in the weights: \(n.prefix(8).joined(separator: ", "))\(n.count > 8 ? ", …" : "")"
        }
    }
}

/// Takes tensors from an archive by name, checking each shape and tracking what was used.
struct WeightReader {
    let archive: any WeightArchive
    private(set) var used = Set<String>()

    init(_ archive: any WeightArchive) { self.archive = archive }

    /// Whether the archive has `name`.
    func has(_ name: String) -> Bool { archive.tensorNames.contains(name) }

    /// The tensor `name`, which must have `shape`, as a frozen parameter.
    mutating func parameter(_ name: String, _ shape: [Int]) throws -> Parameter {
        let actual = try archive.shape(of: name)
        guard actual == shape else { throw WeightLoadError.shapeMismatch(name: name, expected: shape, actual: actual) }
        let t = try archive.tensor(named: name)
        guard t.shape == shape else { throw WeightLoadError.shapeMismatch(name: name, expected: shape, actual: t.shape) }
        used.insert(name)
        return Parameter(t, trainable: false)
    }

    /// Throws if the archive holds tensors that were not used, other than those `ignoring` matches.
    func checkAllUsed(ignoring: (String) -> Bool = { _ in false }) throws {
        let extra = archive.tensorNames.filter { !used.contains($0) && !ignoring($0) }
        if !extra.isEmpty { throw WeightLoadError.unexpectedTensors(extra.sorted()) }
    }
}
