/// Turns a stream of token byte sequences into text, emitting only complete UTF-8 characters.
///
/// Byte-level tokenizers split multi-byte characters across tokens; decoding each token alone would show
/// replacement characters. This decoder holds back a trailing, still-valid but incomplete sequence until the
/// bytes that complete it arrive. Invalid bytes become U+FFFD exactly as decoding the whole byte stream at
/// once would (one U+FFFD per maximal ill-formed subpart, the Unicode / WHATWG practice that Swift, Python's
/// `errors="replace"` and Rust's `from_utf8_lossy` share), so the concatenated output always equals the
/// full decode. `finish()` flushes a dangling incomplete sequence as U+FFFD.
public struct UTF8StreamDecoder: Sendable {
    /// Bytes of an incomplete character held back from earlier input (at most 3).
    public private(set) var pendingBytes: [UInt8] = []

    /// Creates an empty decoder.
    public init() {}

    /// Adds bytes and returns the text they complete (possibly empty).
    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var buffer = pendingBytes
        buffer.append(contentsOf: bytes)
        let held = Self.incompleteTailLength(buffer)
        pendingBytes = Array(buffer[(buffer.count - held)...])
        return String(decoding: buffer[0..<(buffer.count - held)], as: UTF8.self)
    }

    /// Ends the stream: returns the held-back bytes decoded (U+FFFD for an incomplete sequence).
    public mutating func finish() -> String {
        defer { pendingBytes.removeAll() }
        return String(decoding: pendingBytes, as: UTF8.self)
    }

    /// Length of the tail of `bytes` that starts a valid UTF-8 sequence which is not yet complete.
    ///
    /// A decoder always begins a new sequence at a byte that is not a continuation byte (80–BF), so the only
    /// candidate is the last such byte; the tail is held when every byte after it is a valid next byte of
    /// a sequence still missing bytes.
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        var start = bytes.count - 1
        let lowest = max(0, bytes.count - 3)
        while start >= lowest && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= lowest, start >= 0 else { return 0 }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return 0  // ASCII, or a byte that can never start a sequence
        }
        let have = bytes.count - start
        guard have < needed else { return 0 }
        if have >= 2 {
            // The second byte's allowed range depends on the lead (no overlongs, surrogates or > U+10FFFF);
            // later bytes are plain continuations, already checked by the scan above.
            let second = bytes[start + 1]
            let allowed: ClosedRange<UInt8> = switch lead {
            case 0xE0: 0xA0...0xBF
            case 0xED: 0x80...0x9F
            case 0xF0: 0x90...0xBF
            case 0xF4: 0x80...0x8F
            default: 0x80...0xBF
            }
            guard allowed.contains(second) else { return 0 }
        }
        return have
    }
}
