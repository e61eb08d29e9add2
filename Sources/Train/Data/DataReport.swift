/// Why a well-formed record was left out.
public enum DropReason: String, Sendable, Codable, Hashable, CaseIterable, CodingKeyRepresentable {
    /// A required field became empty after cleaning.
    case emptyAfterCleaning
    /// Same as an earlier record (see ``Deduplication``).
    case duplicate
    /// The template cannot render the conversation (e.g. roles not alternating for Llama-2).
    case templateError
    /// Fewer tokens than `minTokens`.
    case tooShort
    /// More tokens than `maxTokens`.
    case tooLong
    /// No token is trained on (e.g. the response was truncated away).
    case noTargetTokens

    /// Human-readable name.
    public var label: String {
        switch self {
        case .emptyAfterCleaning: return "empty after cleaning"
        case .duplicate: return "duplicate"
        case .templateError: return "template cannot render"
        case .tooShort: return "too short"
        case .tooLong: return "too long"
        case .noTargetTokens: return "no target tokens"
        }
    }
}

/// What happened to every input line: kept, skipped as malformed, or dropped, and why.
public struct DataReport: Sendable, Codable, Hashable, CustomStringConvertible {
    /// Where the data came from.
    public var source: String
    /// The format the data was read as.
    public var format: DataFormat
    /// The prompt template used, described.
    public var template: String
    /// Lines (or in-memory records) examined.
    public var linesRead: Int
    /// Skipped lines with their 1-based numbers and reasons.
    public var malformed: [MalformedLine]
    /// Line numbers of well-formed records that were dropped, by reason.
    public var dropped: [DropReason: [Int]]
    /// Line numbers of examples cut to the maximum sequence length.
    public var truncatedLines: [Int]
    /// Examples in the training split.
    public var trainExamples: Int
    /// Examples in the validation split.
    public var validationExamples: Int
    /// Tokens in the training split.
    public var trainTokens: Int
    /// Target (loss) tokens in the training split.
    public var trainTargetTokens: Int
    /// Tokens in the validation split.
    public var validationTokens: Int
    /// Target tokens in the validation split.
    public var validationTargetTokens: Int
    /// Length of the longest kept example, in tokens.
    public var longestExample: Int

    /// Examples kept (train + validation).
    public var keptExamples: Int { trainExamples + validationExamples }

    /// Malformed lines per reason category.
    public var malformedCounts: [String: Int] {
        malformed.reduce(into: [:]) { $0[$1.reason.category, default: 0] += 1 }
    }

    /// Dropped records per reason.
    public var droppedCounts: [DropReason: Int] { dropped.mapValues(\.count).filter { $0.value > 0 } }

    /// Total dropped records.
    public var droppedTotal: Int { dropped.values.reduce(0) { $0 + $1.count } }

    /// How many malformed lines ``description`` lists one by one.
    public static let listedLineLimit = 20

    public var description: String {
        func counts(_ pairs: [(String, Int)]) -> String {
            pairs.isEmpty ? "" : "  (" + pairs.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
        }
        var lines = ["Data report: \(source) [\(format.rawValue), template \(template)]"]
        lines.append("  lines read:  \(linesRead)")
        lines.append("  malformed:   \(malformed.count)" + counts(malformedCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        for line in malformed.prefix(Self.listedLineLimit) { lines.append("    \(line)") }
        if malformed.count > Self.listedLineLimit { lines.append("    … and \(malformed.count - Self.listedLineLimit) more") }
        let dropCounts = DropReason.allCases.compactMap { r in droppedCounts[r].map { (r.label, $0) } }
        lines.append("  dropped:     \(droppedTotal)" + counts(dropCounts))
        lines.append("  truncated:   \(truncatedLines.count)")
        lines.append("  kept:        \(keptExamples) (train \(trainExamples), validation \(validationExamples)); longest \(longestExample) tokens")
        lines.append("  tokens:      train \(trainTokens) (\(trainTargetTokens) targets), validation \(validationTokens) (\(validationTargetTokens) targets)")
        return lines.joined(separator: "\n")
    }
}
