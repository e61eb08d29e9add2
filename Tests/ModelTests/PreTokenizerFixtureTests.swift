import Foundation
import Model
import TestSupport
import XCTest

/// The hand-written pre-tokenizer scanners and split patterns against the pieces Hugging Face `tokenizers`
/// (Oniguruma regexes) cuts random tricky strings into, and the Unicode classes they rely on.
final class PreTokenizerFixtureTests: XCTestCase {
    struct Config: Decodable {
        let pre_tokenizer: JSONValue
        let cases: [Case]
    }

    struct Case: Decodable {
        let text: String
        let pieces: [String]
    }

    struct CaseFile: Decodable {
        let configs: [String: Config]
    }

    /// A tokenizer with a one-token vocabulary and the given pre-tokenizer; only `preTokenize` is used.
    static func tokenizer(preTokenizer: String) throws -> PretrainedTokenizer {
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": \#(preTokenizer)}"#
        return try TokenizerLoader.loadTokenizerJSON(data: Data(json.utf8))
    }

    func testPiecesMatchReference() throws {
        let url = Fixtures.url("ModelTests", "tokenizers/pretokenizer_cases.json")
        let file = try JSONDecoder().decode(CaseFile.self, from: Data(contentsOf: url))
        XCTAssertEqual(Set(file.configs.keys), ["gpt2", "gpt2-prefix-space", "llama3", "qwen2", "deepseek-llm", "deepseek-coder",
                                                "starcoder", "llamacpp-default", "digits-runs", "metaspace-split"])
        for (name, config) in file.configs.sorted(by: { $0.key < $1.key }) {
            let tokenizer = try Self.tokenizer(preTokenizer: config.pre_tokenizer.serialized)
            var failures = 0
            for item in config.cases {
                let pieces = tokenizer.preTokenize(item.text)
                if pieces != item.pieces {
                    failures += 1
                    XCTFail("\(name): \(item.text.debugDescription)\n  got      \(pieces.map(\.debugDescription))\n  expected \(item.pieces.map(\.debugDescription))")
                }
            }
            XCTAssertEqual(failures, 0, "\(name): \(failures) of \(config.cases.count) strings split differently")
        }
    }

    /// Every code point's membership in `\s`, `\p{L}`, `\p{N}`, `\p{P}`, `\p{M}`, `\p{S}` equals Oniguruma's.
    func testUnicodeClassesMatchReference() throws {
        struct Classes: Decodable { let classes: [String: [[UInt32]]] }
        let url = Fixtures.url("ModelTests", "tokenizers/unicode_classes.json")
        let reference = try JSONDecoder().decode(Classes.self, from: Data(contentsOf: url)).classes
        // Each code point followed by U+0378 (unassigned, in no class): members of the class come out as
        // one-character pieces, everything else merges into the gaps around them.
        let separator = Unicode.Scalar(0x378)!
        var view = String.UnicodeScalarView()
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            view.append(scalar)
            view.append(separator)
        }
        let text = String(view)
        for (name, pattern) in [("s", #"\\s"#), ("L", #"\\p{L}"#), ("N", #"\\p{N}"#), ("P", #"\\p{P}"#), ("M", #"\\p{M}"#), ("S", #"\\p{S}"#)] {
            let tokenizer = try Self.tokenizer(preTokenizer: #"{"type": "Split", "pattern": {"Regex": "\#(pattern)"}, "behavior": "Isolated", "invert": false}"#)
            var members: [UInt32] = []
            for piece in tokenizer.preTokenize(text) {
                let scalars = piece.unicodeScalars
                if scalars.count == 1, let only = scalars.first, only != separator { members.append(only.value) }
            }
            let expected = try XCTUnwrap(reference[name]).flatMap { range in Array(range[0]...range[1]) }
            XCTAssertEqual(members.count, expected.count, "\\\(name) member count")
            XCTAssertEqual(members, expected, "\\\(name) members")
        }
    }
}

/// Any JSON value, kept so that a fixture's sub-object can be handed back as JSON text.
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// JSON text of the value.
    var serialized: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return value == value.rounded() ? String(Int(value)) : String(value)
        case .string(let value): return Self.quote(value)
        case .array(let items): return "[" + items.map(\.serialized).joined(separator: ",") + "]"
        case .object(let items): return "{" + items.map { Self.quote($0.key) + ":" + $0.value.serialized }.joined(separator: ",") + "}"
        }
    }

    private static func quote(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
        let array = data.map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
        return String(array.dropFirst().dropLast())
    }
}
