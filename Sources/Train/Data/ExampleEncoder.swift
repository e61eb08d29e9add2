import Model

/// Tokenizes formatted segments into a ``TokenizedExample`` with masked labels.
///
/// Each segment is encoded on its own (without added special tokens) and the ids concatenated,
/// so the prompt tokens are exactly those a model sees when the same prompt is encoded for
/// generation. Prompt tokens get label −100 unless `trainOnPrompt`; prompt text after the last
/// response (e.g. ChatML's closing newline) is dropped because nothing is learned from it; EOS
/// is appended (as a target) unless the sequence already ends with it; `labels[0]` is −100.
struct ExampleEncoder<T: Tokenizer> {
    let tokenizer: T
    let trainOnPrompt: Bool
    let appendEOS: Bool

    /// BOS to prepend to raw-text records: the tokenizer's BOS when its own convention adds one
    /// (seen by encoding an empty string with special tokens).
    let rawTextBOS: Int?
    let eos: Int?

    init(tokenizer: T, trainOnPrompt: Bool, appendEOS: Bool) {
        self.tokenizer = tokenizer
        self.trainOnPrompt = trainOnPrompt
        self.appendEOS = appendEOS
        let bos = tokenizer.bosTokenID
        if let bos, tokenizer.encode("", addSpecialTokens: true).first == bos {
            rawTextBOS = bos
        } else {
            rawTextBOS = nil
        }
        eos = tokenizer.eosTokenID
    }

    func encode(_ segments: [ChatSegment], isRawText: Bool) -> TokenizedExample {
        let lastResponse = segments.lastIndex(where: \.isResponse) ?? (segments.count - 1)
        var ids: [Int] = []
        var labels: [Int] = []
        if isRawText, let bos = rawTextBOS {
            ids.append(bos)
            labels.append(TokenizedExample.ignoreIndex)
        }
        for segment in segments.prefix(lastResponse + 1) {
            let tokens = tokenizer.encode(segment.text, addSpecialTokens: false)
            let trained = segment.isResponse || trainOnPrompt
            ids.reserveCapacity(ids.count + tokens.count)
            labels.reserveCapacity(labels.count + tokens.count)
            ids += tokens
            labels += trained ? tokens : [Int](repeating: TokenizedExample.ignoreIndex, count: tokens.count)
        }
        if appendEOS, let eos, ids.last != eos {
            ids.append(eos)
            labels.append(eos)
        }
        if !labels.isEmpty { labels[0] = TokenizedExample.ignoreIndex }
        return TokenizedExample(inputIDs: ids, labels: labels)
    }
}

/// Which end of a too-long example is cut off.
public enum TruncationSide: String, Sendable, Codable, Hashable {
    /// Keep the beginning (the prompt); the end of the response, including EOS, may be lost.
    case right
    /// Keep the end (the response and EOS); the beginning of the prompt is lost.
    case left
}

extension TokenizedExample {
    /// The example cut to at most `maxLength` tokens; `labels[0]` stays −100.
    func truncated(to maxLength: Int, side: TruncationSide) -> TokenizedExample {
        guard count > maxLength else { return self }
        var out: TokenizedExample
        switch side {
        case .right:
            out = TokenizedExample(inputIDs: Array(inputIDs.prefix(maxLength)), labels: Array(labels.prefix(maxLength)))
        case .left:
            out = TokenizedExample(inputIDs: Array(inputIDs.suffix(maxLength)), labels: Array(labels.suffix(maxLength)))
        }
        if !out.labels.isEmpty { out.labels[0] = Self.ignoreIndex }
        return out
    }
}
