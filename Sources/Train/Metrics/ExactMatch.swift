import Model

/// Exact-match accuracy: the share of predictions equal to their reference after normalisation.
public enum ExactMatch {
    /// How strings are normalised before comparing.
    public struct Normalization: Sendable, Codable, Hashable {
        /// Remove leading and trailing whitespace.
        public var trim: Bool
        /// Replace every run of whitespace with one space (implies trimming).
        public var collapseWhitespace: Bool
        /// Compare lowercased strings.
        public var caseInsensitive: Bool

        /// Creates a normalisation; by default only trims.
        public init(trim: Bool = true, collapseWhitespace: Bool = false, caseInsensitive: Bool = false) {
            self.trim = trim
            self.collapseWhitespace = collapseWhitespace
            self.caseInsensitive = caseInsensitive
        }

        /// Compare the strings exactly as given.
        public static let none = Normalization(trim: false)
        /// Trim only (the default).
        public static let trimmed = Normalization()
        /// Trim and collapse internal whitespace.
        public static let whitespace = Normalization(collapseWhitespace: true)

        /// `text` normalised.
        public func apply(_ text: String) -> String {
            var out = text
            if collapseWhitespace {
                out = out.splitOnPythonWhitespace().joined(separator: " ")
            } else if trim {
                out = out.strippingPythonWhitespace()
            }
            if caseInsensitive { out = out.pythonLowercased() }
            return out
        }
    }

    /// Whether `prediction` equals `reference` after `normalization`.
    public static func matches(_ prediction: String, _ reference: String, normalization: Normalization = .trimmed) -> Bool {
        normalization.apply(prediction) == normalization.apply(reference)
    }

    /// The fraction (0…1) of pairs that match; 0 for an empty list.
    public static func score(predictions: [String], references: [String], normalization: Normalization = .trimmed) throws -> Double {
        guard predictions.count == references.count else {
            throw MetricError.countMismatch(predictions: predictions.count, references: references.count)
        }
        guard !predictions.isEmpty else { return 0 }
        let hits = zip(predictions, references).filter { matches($0, $1, normalization: normalization) }.count
        return Double(hits) / Double(predictions.count)
    }
}
