import Tensor

/// What one self-attention call needs besides its input.
public struct AttentionContext {
    /// Position of every query [B·T] (rotary embeddings).
    public var positions: [Int32]
    /// Causal masking, left padding and the always-visible prefix.
    public var mask: AttentionMask
    /// The cache to append keys and values to and attend over, when decoding.
    public var cache: KVCache?
    /// Index of the decoder layer.
    public var layer: Int
    /// Learned keys and values [B, P, G, D] to put before the tokens' own (prefix tuning).
    public var prefix: (keys: Tensor, values: Tensor)?

    /// A context from its parts.
    public init(positions: [Int32], mask: AttentionMask, cache: KVCache?, layer: Int,
                prefix: (keys: Tensor, values: Tensor)? = nil) {
        self.positions = positions
        self.mask = mask
        self.cache = cache
        self.layer = layer
        self.prefix = prefix
    }
}

/// A decoder block's self-attention sublayer (`self_attn`, `attn`): the slot type, so the whole
/// sublayer can be replaced.
public protocol SelfAttentionLayer: Module {
    /// x [B, T, C] → [B, T, C].
    func callAsFunction(_ x: Tensor, context: AttentionContext) -> Tensor
}

/// A decoder block's feed-forward sublayer (`mlp`).
public protocol FeedForwardLayer: Module {
    /// x [B, T, C] → [B, T, C].
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// Causal attention of q [B, T, H, D] over k, v [B, T, G, D], after the context's prefix keys and
/// values and, when decoding, after everything in the cache (no autodiff through the cache).
func attend(q: Tensor, k: Tensor, v: Tensor, context: AttentionContext, heads: Int, scale: Float) -> Tensor {
    var (k, v) = (k, v)
    if let prefix = context.prefix {
        k = Tensor.concat([prefix.keys, k], axis: 1)
        v = Tensor.concat([prefix.values, v], axis: 1)
    }
    guard let cache = context.cache else { return Tensor.attention(q: q, k: k, v: v, scale: scale, mask: context.mask) }
    let (b, t, d) = (q.shape[0], q.shape[1], q.shape[3])
    let layer = context.layer
    cache.write(layer: layer, keys: k, values: v)
    let (keys, values) = cache.buffers(layer: layer)
    let shape = AttentionKernel.Shape(batch: b, queries: t, keys: cache.length + k.shape[1], heads: heads,
                                      kvHeads: cache.kvHeads, headDim: d)
    return Tensor.build(q.shape) { out in
        q.withUnsafeBufferPointer { qp in
            AttentionKernel.forward(q: qp.baseAddress!, k: keys, v: values, kvRowStride: cache.rowStride,
                                    kvBatchStride: cache.batchStride, out: out.baseAddress!, lse: nil,
                                    shape: shape, scale: scale, mask: context.mask)
        }
    }
}
