import Model

/// One sequence in a ``BatchScheduler``'s running batch: a choice of a request, with its sampler,
/// its streamer, and where its keys start in the batch's cache.
struct BatchRow {
    /// The request this row belongs to.
    let requestID: Int
    /// Which of the request's choices it is.
    let choice: Int
    /// The adapter its forward passes apply (nil: base).
    let adapter: String?
    /// Prompt length (positions of generated tokens follow it).
    let promptCount: Int
    /// How many alternatives its tokens' log-probabilities list; nil when the request asked for none.
    let logprobs: Int?
    var sampler: Sampler
    var streamer: TextStreamer
    /// The cache holding this row's keys and values, and the row within it.
    var cache: KVCache
    var cacheRow: Int
    /// First valid position of the row in `cache` (earlier ones are padding).
    var keyStart: Int

    /// The token the next decode step feeds (the last sampled one).
    var lastToken: Int { streamer.tokenIDs.last ?? 0 }
    /// Position of `lastToken`.
    var lastPosition: Int { promptCount + streamer.tokenIDs.count - 1 }
    /// This row's part of its cache.
    var slice: KVCache.RowSlice { KVCache.RowSlice(cache: cache, row: cacheRow, start: keyStart) }
}
