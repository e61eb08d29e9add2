import Tensor

/// What turns a model's last hidden states into vocabulary logits: `lm_head`, or the token
/// embedding when the two are tied.
public struct OutputHead {
    /// The [V, C] weight when the head is exactly `hidden · weightᵀ` (a bias-free dense `lm_head`
    /// or a tied dense embedding), so a loss can fuse the product with its reduction
    /// (``Tensor/linearCrossEntropy(_:weight:targets:normalizer:chunkRows:)``); nil when an adapter,
    /// a quantized format or a bias sits in the head.
    public let denseWeight: Tensor?
    private let listParameters: () -> [Parameter]
    private let apply: (Tensor) -> Tensor

    /// A head applying `apply`, which reads `parameters` (listed only when a chunked loss asks, so
    /// a decoding step pays nothing for it); pass `denseWeight` only when `apply(x)` is
    /// `x · denseWeightᵀ`.
    public init(denseWeight: Tensor?, parameters: @escaping @autoclosure () -> [Parameter], apply: @escaping (Tensor) -> Tensor) {
        self.denseWeight = denseWeight
        self.listParameters = parameters
        self.apply = apply
    }

    /// Every parameter the head reads (the trainable ones receive gradients from a chunked loss).
    public var parameters: [Parameter] { listParameters() }

    /// The head that leaves its input unchanged (for models whose forward pass already ends in logits).
    public static var identity: OutputHead { OutputHead(denseWeight: nil, parameters: []) { $0 } }

    /// Logits [N, V] of hidden rows [N, C] (differentiable).
    public func callAsFunction(_ hidden: Tensor) -> Tensor { apply(hidden) }
}

/// A forward pass stopped before the output head: the final hidden states of the selected rows
/// and the head that maps them to logits.
public struct HiddenRows {
    /// [N, C]: the rows ``ModelInput/logits`` selects, after the final norm.
    public let hidden: Tensor
    /// The model's output head.
    public let head: OutputHead

    /// A forward pass's rows and head.
    public init(hidden: Tensor, head: OutputHead) {
        self.hidden = hidden
        self.head = head
    }

    /// The logits [N, V] of these rows.
    public var logits: Tensor { head(hidden) }
}
