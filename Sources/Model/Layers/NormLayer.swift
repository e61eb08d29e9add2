import Tensor

/// A normalisation over the last axis with learned parameters (RMSNorm, LayerNorm): the slot type of
/// a block's norms, so any of them can be replaced.
public protocol NormLayer: Module {
    /// Normalises the last axis.
    func callAsFunction(_ x: Tensor) -> Tensor
}
