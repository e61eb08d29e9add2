import Quant
import Tensor

/// A read-only collection of named weight tensors, as a model loader sees a checkpoint:
/// Hugging Face module paths as names (e.g. `model.layers.0.self_attn.q_proj.weight`) and
/// Float32 tensors in the layout the corresponding PyTorch module holds.
///
/// Conformers: ``SafetensorsFile`` (names as stored), ``GGUFWeightArchive`` (GGUF names and
/// layouts translated to Hugging Face ones), ``ShardedSafetensors`` and ``InMemoryWeights``.
public protocol WeightArchive: Sendable {
    /// Every tensor name the archive holds.
    var tensorNames: [String] { get }
    /// Shape of tensor `name`, outermost first, without reading its data.
    func shape(of name: String) throws -> [Int]
    /// Tensor `name` as Float32 (dequantized or widened as needed).
    func tensor(named name: String) throws -> Tensor
}

extension WeightArchive {
    /// Whether the archive holds a tensor of this name.
    public func contains(_ name: String) -> Bool { (try? shape(of: name)) != nil }
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
    /// Two files of one model hold a tensor of the same name.
    case duplicateTensor(name: String, files: [String])

    public var description: String {
        switch self {
        case .missingTensor(let n): return "missing tensor '\(n)'"
        case .shapeMismatch(let n, let e, let a): return "tensor '\(n)' has shape \(a), expected \(e)"
        case .duplicateTensor(let n, let f): return "tensor '\(n)' appears in more than one file: \(f.joined(separator: ", "))"
        case .unexpectedTensors(let n): return "unused tensors in the weights: \(n.prefix(8).joined(separator: ", "))\(n.count > 8 ? ", …" : "")"
        }
    }
}

/// An archive that can hand out weights in their stored block format (GGUF).
public protocol QuantizedWeightArchive: WeightArchive {
    /// The weight `name` as a ``QuantizedMatrix`` when it is stored quantized as a plain
    /// [rows, columns] matrix in the Hugging Face layout; nil when it must be converted.
    func quantizedMatrix(named name: String) throws -> QuantizedMatrix?
}

/// Takes tensors from an archive by name, checking each shape and tracking what was used.
struct WeightReader {
    let archive: any WeightArchive
    let quantized: (any QuantizedWeightArchive)?
    private(set) var used = Set<String>()

    /// Which block-quantized weights stay in their stored format.
    let storage: QuantizedStorage

    init(_ archive: any WeightArchive, keeping storage: QuantizedStorage = []) {
        self.archive = archive
        self.storage = storage
        self.quantized = storage.isEmpty ? nil : archive as? any QuantizedWeightArchive
    }

    /// A quantized matrix for `name` of shape [rows, columns], when kept quantized.
    mutating func quantizedMatrix(_ name: String, rows: Int, columns: Int) throws -> QuantizedMatrix? {
        guard let quantized, let m = try quantized.quantizedMatrix(named: name) else { return nil }
        guard m.rows == rows, m.columns == columns else {
            throw WeightLoadError.shapeMismatch(name: name, expected: [rows, columns], actual: [m.rows, m.columns])
        }
        used.insert(name)
        return m
    }

    /// A linear layer `name` (`.weight` [out, in], optional `.bias`), quantized when possible.
    mutating func linear(_ name: String, out: Int, in inp: Int, bias: Bool) throws -> any LinearLayer {
        let b = bias ? try parameter(name + ".bias", [out]) : nil
        if storage.contains(.linears), let m = try quantizedMatrix(name + ".weight", rows: out, columns: inp) {
            return QuantizedLinear(weight: m, bias: b)
        }
        if let q = try BitsAndBytesWeights.linear(name, rows: out, columns: inp, bias: b, in: archive) {
            used.formUnion(q.names)
            return q.layer
        }
        return Linear(weight: try parameter(name + ".weight", [out, inp]), bias: b)
    }

    /// An embedding table `name` [count, dimension], kept quantized when the storage says so:
    /// with ``QuantizedStorage/linears`` always, with ``QuantizedStorage/lookupEmbeddings`` when
    /// it is not also the output head (`tied` false).
    mutating func embedding(_ name: String, count: Int, dimension: Int, tied: Bool) throws -> any EmbeddingLayer {
        let keep = storage.contains(.linears) || (storage.contains(.lookupEmbeddings) && !tied)
        if keep, let m = try quantizedMatrix(name, rows: count, columns: dimension) { return QuantizedEmbedding(table: m) }
        return Embedding(weight: try parameter(name, [count, dimension]))
    }

    /// Whether the archive has `name`.
    func has(_ name: String) -> Bool { archive.contains(name) }

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
