import Tensor

/// A safetensors file is a weight archive (names, shapes, Float32 tensors).
extension SafetensorsFile: WeightArchive {}
