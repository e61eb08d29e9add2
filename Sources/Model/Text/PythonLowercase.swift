extension String {
    /// Lowercased exactly as Python's `str.lower()`: the full Unicode lowercase mapping of each
    /// scalar (so `İ` becomes `i̇`), with capital sigma becoming final `ς` at the end of a word
    /// (Unicode's Final_Sigma context), which Swift's `lowercased()` does not apply.
    public func pythonLowercased() -> String {
        let scalars = Array(unicodeScalars)
        guard scalars.contains(where: { $0.properties.changesWhenLowercased }) else { return self }
        var out = String.UnicodeScalarView()
        for (i, scalar) in scalars.enumerated() {
            if scalar.value == 0x03A3 {
                out.append(Self.isFinalSigma(at: i, in: scalars) ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    private static func isFinalSigma(at index: Int, in scalars: [Unicode.Scalar]) -> Bool {
        var j = index - 1
        while j >= 0, scalars[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, scalars[j].properties.isCased else { return false }
        j = index + 1
        while j < scalars.count, scalars[j].properties.isCaseIgnorable { j += 1 }
        return j == scalars.count || !scalars[j].properties.isCased
    }
}
