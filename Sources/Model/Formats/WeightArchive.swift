import Tensor

/// A read-only collection of named weight tensors, as a model loader sees a checkpoint:
/// Hugging Face module paths as names (e.g. `model.layers.0.self_attn.q_proj.weight`) and
/// Float32 tensors in the layout the corresponding PyTorch module holds.
///
/// Conformers: ``SafetensorsFile`` (names as stored) and ``GGUFWeightArchive`` (GGUF names and
/// layouts translated to Hugging Face ones).
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
