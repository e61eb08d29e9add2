import Model

/// Which records count as duplicates (the first occurrence is kept).
public enum Deduplication: String, Sendable, Codable, Hashable {
    /// Keep every record.
    case none
    /// Records whose fields are identical, character for character.
    case exact
    /// Records equal after lowercasing, removing punctuation and collapsing whitespace.
    case normalized

    /// The key two records share exactly when they are duplicates (nil for ``none``).
    public func key(for record: DataRecord) -> String? {
        switch self {
        case .none:
            return nil
        case .exact:
            return record.taggedTexts.map { $0.tag + "\u{1F}" + $0.text }.joined(separator: "\u{1E}")
        case .normalized:
            return record.taggedTexts.map { $0.tag + "\u{1F}" + Self.normalize($0.text) }.joined(separator: "\u{1E}")
        }
    }

    /// Indices of the records to keep, in order, and of the dropped duplicates.
    func partition(_ records: [DataRecord]) -> (kept: [Int], duplicates: [Int]) {
        guard self != .none else { return (Array(records.indices), []) }
        var seen = Set<String>()
        var kept: [Int] = [], duplicates: [Int] = []
        for (index, record) in records.enumerated() {
            guard let key = key(for: record) else { kept.append(index); continue }
            if seen.insert(key).inserted { kept.append(index) } else { duplicates.append(index) }
        }
        return (kept, duplicates)
    }

    /// Lowercase, punctuation removed, whitespace runs collapsed to one space, trimmed.
    static func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.pythonLowercased().unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            switch scalar.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation:
                continue
            default:
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(scalar)
            }
        }
        return String(out)
    }
}
