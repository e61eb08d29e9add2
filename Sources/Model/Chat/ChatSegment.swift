/// A piece of a rendered conversation, marked as prompt text or as response text.
///
/// Response segments are what a fine-tuned model learns to produce: an assistant message's
/// content together with the template's end-of-turn marker (`<|im_end|>`, `<|eot_id|>`, `</s>`).
/// Everything else (headers, user turns, system prompts) is prompt text. Concatenating the
/// segments' texts gives exactly the rendered string.
public struct ChatSegment: Sendable, Hashable {
    /// The text of this piece.
    public var text: String
    /// Whether the text is assistant output (trained on) rather than prompt.
    public var isResponse: Bool

    /// Creates a segment.
    public init(text: String, isResponse: Bool) {
        self.text = text
        self.isResponse = isResponse
    }
}

/// Collects segments, merging neighbours of the same kind and dropping empty text.
struct SegmentBuilder {
    private(set) var segments: [ChatSegment] = []

    mutating func prompt(_ text: String) { append(text, isResponse: false) }
    mutating func response(_ text: String) { append(text, isResponse: true) }

    private mutating func append(_ text: String, isResponse: Bool) {
        guard !text.isEmpty else { return }
        if let last = segments.indices.last, segments[last].isResponse == isResponse {
            segments[last].text += text
        } else {
            segments.append(ChatSegment(text: text, isResponse: isResponse))
        }
    }
}
