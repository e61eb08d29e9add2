import Foundation
import Model
import TestSupport
import XCTest

/// A large text with a real vocabulary (Qwen2's, from the llama.cpp vectors): correctness only.
final class TokenizerLargeTextTests: XCTestCase {
    /// About `size` bytes of mixed English-like prose, code, numbers and some non-Latin text, made from a
    /// fixed word list with a deterministic Zipf-like choice.
    static func syntheticText(size: Int) -> String {
        let words = """
        the of and to in is was that for it with as he on be at by this had not are but from or have an they which one \
        you were her all she there would their we him been has when who will more no if out so said what up its about \
        into than them can only other new some could time these two may then do first any my now such like our over man \
        me even most made after also did many before must through back years where much your way well down should \
        because each just those people how too little state good very make world still own see men work long get here \
        between both life being under never day same another know while last might us great old year off come since \
        against go came right used take three tokenizer model training gradient adapter quantized inference parameter
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let extras = ["Straße", "naïve", "Привет", "мир", "我想", "工作", "こんにちは", "🚀", "über", "Ελληνικά"]
        let code = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n    sum += a[i];\n}\n",
                    "let value = try decoder.decode(Config.self, from: data)\n", "if err != nil {\n\treturn err\n}\n"]
        var generator = SystemRandomNumberGenerator.seeded(20261123)
        var text = ""
        text.reserveCapacity(size + 100)
        var sentence = 0
        while text.utf8.count < size {
            let length = 6 + Int(generator.next() % 14)
            for index in 0..<length {
                let roll = generator.next() % 1000
                var word: String
                if roll < 12 {
                    word = extras[Int(generator.next() % UInt64(extras.count))]
                } else if roll < 40 {
                    word = String(generator.next() % 100_000)
                } else {
                    // Zipf-like: low ranks far more often.
                    let u = Double(generator.next() % 1_000_000) / 1_000_000
                    word = words[min(words.count - 1, Int(pow(Double(words.count), u)) - 1)]
                }
                if index == 0 { word = word.prefix(1).uppercased() + word.dropFirst() }
                text += (index == 0 ? "" : " ") + word
            }
            text += [". ", ", and ", "? ", "! ", ".\n"][Int(generator.next() % 5)]
            sentence += 1
            if sentence % 12 == 0 { text += "\n" + code[sentence / 12 % code.count] + "\n" }
        }
        return text
    }

    /// A large mixed text round-trips through Qwen2's vocabulary, as one string and line by line
    /// (throughput is measured by `tailor-bench tokenizer`).
    func testLargeTextRoundTrips() throws {
        let vocab = Fixtures.cache.appendingPathComponent("vocab/ggml-vocab-qwen2.gguf")
        guard FileManager.default.fileExists(atPath: vocab.path) else {
            throw XCTSkip("\(vocab.path) missing: run Scripts/fetch-tokenizer-vectors.sh")
        }
        let tokenizer = try TokenizerLoader.loadGGUF(vocab)
        let text = Self.syntheticText(size: 1 << 20)
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        XCTAssertGreaterThan(ids.count, text.utf8.count / 8)
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: false), text)
        let lines = text.split(separator: "\n").map(String.init)
        let lineTokens = lines.map { tokenizer.encode($0, addSpecialTokens: false) }
        XCTAssertEqual(zip(lines, lineTokens).filter { tokenizer.decode($1, skipSpecialTokens: false) != $0 }.count, 0)
        XCTAssertGreaterThan(lineTokens.reduce(0) { $0 + $1.count }, ids.count / 2)
    }
}

extension SystemRandomNumberGenerator {
    /// A small deterministic generator (SplitMix64) for reproducible benchmark text.
    static func seeded(_ seed: UInt64) -> SplitMix64 { SplitMix64(state: seed) }
}

/// SplitMix64: a tiny, fast, deterministic random number generator.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
