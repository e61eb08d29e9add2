import Tensor

/// How a decoder block adds a sublayer's output back to its residual stream: the slot that
/// bottleneck adapters fill (`attention_adapters` after attention, `output_adapters` after the
/// feed-forward block). A block without one computes `output + residual`.
public protocol ResidualJoin: Module {
    /// Combines a sublayer's `output` with the block's `residual` input; both [B, T, C].
    func callAsFunction(_ output: Tensor, residual: Tensor) -> Tensor
}
