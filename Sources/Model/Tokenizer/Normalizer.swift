import Foundation

/// Rewrites each run of ordinary text (the text between added tokens) before pre-tokenization:
/// Unicode normalization, SentencePiece's `▁` for spaces, prefix spaces.
struct Normalizer: Sendable {
    /// When a prefix is added to a run of text.
    enum PrependCondition: Sendable {
        /// Every non-empty run (Hugging Face `Prepend`, `Metaspace` with `always`).
        case always
        /// Only the run at the very start of the input (`Metaspace` with `first`).
        case firstRun
        /// The first run and every run right after an added token (llama.cpp's SentencePiece
        /// `add_space_prefix`).
        case firstRunOrAfterToken
    }

    /// One rewriting rule.
    enum Step: Sendable {
        /// Unicode canonical composition (NFC).
        case nfc
        /// Unicode compatibility composition (NFKC).
        case nfkc
        /// Lowercase every character.
        case lowercase
        /// Put `prefix` in front of the text; with `unlessPresent`, only if the text does not
        /// already start with it.
        case prepend(prefix: [UInt8], when: PrependCondition, unlessPresent: Bool)
        /// Replace every occurrence of a literal byte string.
        case replace(pattern: [UInt8], with: [UInt8])
    }

    /// Rules in order; empty means the text is used as is.
    var steps: [Step] = []

    /// Whether the normalizer leaves text unchanged.
    var isIdentity: Bool { steps.isEmpty }

    /// The normalized bytes of one run of text.
    func apply(_ bytes: UnsafeBufferPointer<UInt8>, isFirstRun: Bool, followsToken: Bool) -> [UInt8] {
        var text = Array(bytes)
        for step in steps {
            switch step {
            case .nfc:
                if text.contains(where: { $0 >= 0xCC }) {  // scalars below U+0300 are already NFC
                    text = Array(String(decoding: text, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
                }
            case .nfkc:
                if text.contains(where: { $0 >= 0x80 }) {
                    text = Array(String(decoding: text, as: UTF8.self).precomposedStringWithCompatibilityMapping.utf8)
                }
            case .lowercase:
                text = Array(String(decoding: text, as: UTF8.self).lowercased().utf8)
            case let .prepend(prefix, condition, unlessPresent):
                guard !text.isEmpty else { continue }
                let applies: Bool
                switch condition {
                case .always: applies = true
                case .firstRun: applies = isFirstRun
                case .firstRunOrAfterToken: applies = isFirstRun || followsToken
                }
                if applies && !(unlessPresent && text.starts(with: prefix)) {
                    text.insert(contentsOf: prefix, at: 0)
                }
            case let .replace(pattern, replacement):
                text = Self.replacing(pattern, with: replacement, in: text)
            }
        }
        return text
    }

    private static func replacing(_ pattern: [UInt8], with replacement: [UInt8], in text: [UInt8]) -> [UInt8] {
        guard !pattern.isEmpty, text.count >= pattern.count else { return text }
        var result: [UInt8] = []
        result.reserveCapacity(text.count + text.count / 4 * max(replacement.count - pattern.count, 0))
        var index = 0
        let first = pattern[0]
        while index < text.count {
            if text[index] == first && index + pattern.count <= text.count
                && text[index..<(index + pattern.count)].elementsEqual(pattern) {
                result.append(contentsOf: replacement)
                index += pattern.count
            } else {
                result.append(text[index])
                index += 1
            }
        }
        return result
    }
}
