/// Text generation: sampling, stop sequences, streaming and batched requests.
///
/// The model-independent pieces, and how a generation loop uses them per step:
/// - `GenerationConfig`: length, sampling (temperature, top-k, top-p, min-p, penalties, seed) and stopping.
/// - `Sampler`: one per sequence; `sampleToken(from:)` takes the last position's logits row and returns the
///   next token id, applying transformers' processors in transformers' order.
/// - `TextStreamer`: one per sequence; `append(token:)` turns each sampled id into displayable text
///   (`UTF8StreamDecoder` + `StopSequenceMatcher`), handles stop tokens and the length limit, and reports
///   the `FinishReason`; `result` is the `GenerationResult`.
/// - `GenerationStream`: the `AsyncSequence` of `GenerationEvent`s a loop feeds through a `GenerationSink`.
public enum Generate {}
