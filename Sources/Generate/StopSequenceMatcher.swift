/// Finds stop strings in streamed text without ever emitting any part of them.
///
/// Feed it the text deltas of a generation in order. Each call returns the text that is safe to show:
/// everything except a held-back tail that could still turn into a stop string (the longest tail that is a
/// proper prefix of one). When a stop string completes, the text before it is returned with the match and
/// the matcher ignores all later input; the stop string itself is never emitted.
///
/// Matching works on UTF-8 bytes (so on Unicode scalars, not grapheme clusters: stop "\n" matches inside
/// "\r\n"). The result does not depend on how the text is split into deltas: it is the same as feeding one
/// character at a time and stopping at the first position where some stop string ends (preferring the
/// longest one ending there).
public struct StopSequenceMatcher: Sendable {
    /// What one `append` (or `finish`) produced.
    public struct Output: Sendable, Equatable {
        /// Text that may be emitted now (possibly empty).
        public var text: String
        /// The stop string that matched, if one did.
        public var stop: String?

        /// Creates an output value.
        public init(text: String, stop: String? = nil) {
            self.text = text
            self.stop = stop
        }
    }

    /// The stop strings searched for (empty strings removed).
    public let stopStrings: [String]
    /// The stop string that ended the text, once one has matched.
    public private(set) var matchedStop: String?
    private let patterns: [[UInt8]]
    private let longestPattern: Int
    private var pending: [UInt8] = []

    /// Creates a matcher for `stopStrings`; empty strings are ignored.
    public init(stopStrings: [String]) {
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
        self.patterns = self.stopStrings.map { Array($0.utf8) }
        self.longestPattern = patterns.map(\.count).max() ?? 0
    }

    /// Whether a stop string has matched (further input is ignored).
    public var isStopped: Bool { matchedStop != nil }

    /// The text currently held back because it could begin a stop string.
    public var heldBackText: String { String(decoding: pending, as: UTF8.self) }

    /// Adds the next piece of generated text.
    public mutating func append(_ delta: String) -> Output {
        guard matchedStop == nil else { return Output(text: "") }
        if patterns.isEmpty { return Output(text: delta) }
        let scanFrom = pending.count
        pending.append(contentsOf: delta.utf8)

        // The held-back part contains no complete match, so only stops ending in the new bytes can match.
        var end = scanFrom + 1
        while end <= pending.count {
            var best: Int? = nil
            for (index, pattern) in patterns.enumerated() where pattern.count <= end {
                if endsWith(pattern, at: end) && (best.map { patterns[$0].count < pattern.count } ?? true) {
                    best = index
                }
            }
            if let best {
                let start = end - patterns[best].count
                let text = String(decoding: pending[0..<start], as: UTF8.self)
                matchedStop = stopStrings[best]
                pending.removeAll()
                return Output(text: text, stop: stopStrings[best])
            }
            end += 1
        }

        let hold = longestTailStartingAStop()
        let text = String(decoding: pending[0..<(pending.count - hold)], as: UTF8.self)
        pending.removeFirst(pending.count - hold)
        return Output(text: text)
    }

    /// Ends the text: returns whatever was held back (it did not become a stop string).
    public mutating func finish() -> Output {
        guard matchedStop == nil else { return Output(text: "") }
        let text = String(decoding: pending, as: UTF8.self)
        pending.removeAll()
        return Output(text: text)
    }

    private func endsWith(_ pattern: [UInt8], at end: Int) -> Bool {
        let start = end - pattern.count
        for j in 0..<pattern.count where pending[start + j] != pattern[j] { return false }
        return true
    }

    /// Length of the longest tail of `pending` that is a proper prefix of some stop string.
    private func longestTailStartingAStop() -> Int {
        var length = min(longestPattern - 1, pending.count)
        while length > 0 {
            let start = pending.count - length
            for pattern in patterns where pattern.count > length {
                var matches = true
                for j in 0..<length where pending[start + j] != pattern[j] { matches = false; break }
                if matches { return length }
            }
            length -= 1
        }
        return 0
    }
}
