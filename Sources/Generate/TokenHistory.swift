/// The tokens one sequence has seen so far, in the form the penalties need: which ids occurred
/// anywhere (prompt or generated, for the repetition penalty) and how often each id was generated
/// (for the frequency and presence penalties).
public struct TokenHistory: Sendable, Equatable {
    /// Every distinct id of the prompt and the generated tokens.
    public private(set) var seen: Set<Int>
    /// How many times each id has been generated (prompt excluded).
    public private(set) var generatedCounts: [Int: Int]
    /// Number of tokens generated so far.
    public private(set) var generatedCount: Int

    /// Starts a history holding only `prompt`.
    public init(prompt: [Int] = []) {
        seen = Set(prompt)
        generatedCounts = [:]
        generatedCount = 0
    }

    /// Records one generated token.
    public mutating func recordGenerated(_ id: Int) {
        seen.insert(id)
        generatedCounts[id, default: 0] += 1
        generatedCount += 1
    }

    /// Applies the repetition penalty, then the frequency and presence penalties, to `logits` in place.
    ///
    /// Repetition (transformers' `RepetitionPenaltyLogitsProcessor`): for every distinct seen id, a logit
    /// below 0 is multiplied by `repetition`, any other divided by it. Frequency/presence (OpenAI): the logit
    /// of an id generated `c > 0` times loses `frequency × c + presence`. Ids outside the row are ignored.
    func applyPenalties(to logits: UnsafeMutableBufferPointer<Float>, repetition: Float, frequency: Float, presence: Float) {
        let vocabulary = logits.count
        if repetition != 1 {
            for id in seen where id >= 0 && id < vocabulary {
                let value = logits[id]
                logits[id] = value < 0 ? value * repetition : value / repetition
            }
        }
        if frequency != 0 || presence != 0 {
            for (id, count) in generatedCounts where id >= 0 && id < vocabulary {
                logits[id] = logits[id] - Float(count) * frequency - presence
            }
        }
    }
}
