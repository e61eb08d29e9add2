/// Character classes used by pre-tokenizer patterns (`\p{L}`, `\p{N}`, `\s`, …).
///
/// Membership follows Unicode general categories and the White_Space property as Oniguruma sees them
/// in Hugging Face `tokenizers`: that engine knows Unicode 16.0, so scalars assigned later are treated
/// as unassigned (in no class). This is checked against the reference for every code point.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
    static let letter = ScalarClass(rawValue: 1)
    /// `\p{N}`: Nd, Nl, No.
    static let number = ScalarClass(rawValue: 2)
    /// `\p{P}`: Pc, Pd, Ps, Pe, Pi, Pf, Po.
    static let punctuation = ScalarClass(rawValue: 4)
    /// `\p{M}`: Mn, Mc, Me.
    static let mark = ScalarClass(rawValue: 8)
    /// `\p{S}`: Sm, Sc, Sk, So.
    static let symbol = ScalarClass(rawValue: 16)
    /// `\s`: the White_Space property.
    static let whitespace = ScalarClass(rawValue: 32)

    /// The Unicode version of the reference regex engine.
    static let referenceUnicodeVersion = (major: 16, minor: 0)

    /// The classes of the scalar with value `value` (any value; invalid ones have no class).
    @inline(__always)
    static func of(_ value: UInt32) -> ScalarClass {
        if value < UInt32(tableSize) {
            return ScalarClass(rawValue: table[Int(value)])
        }
        return compute(value)
    }

    /// Scalars below this bound (the BMP and the first two supplementary planes, where emoji and
    /// CJK extensions live) are looked up in a precomputed table.
    private static let tableSize = 0x30000

    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0, count: tableSize)
        for value in 0..<tableSize {
            table[value] = compute(UInt32(value)).rawValue
        }
        return table
    }()

    private static func compute(_ value: UInt32) -> ScalarClass {
        guard let scalar = Unicode.Scalar(value) else { return [] }
        let properties = scalar.properties
        guard let age = properties.age,
              (age.major, age.minor) <= (referenceUnicodeVersion.major, referenceUnicodeVersion.minor)
        else { return [] }
        var result: ScalarClass = properties.isWhitespace ? .whitespace : []
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            result.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            result.insert(.punctuation)
        case .spacingMark, .enclosingMark, .nonspacingMark:
            result.insert(.mark)
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            result.insert(.symbol)
        default:
            break
        }
        return result
    }
}
