import Foundation
import XCTest
import Generate

final class UTF8StreamDecoderTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { var name: String; var bytes: [UInt8]; var text: String }
        var cases: [Case]
    }

    /// Full decodes by Hugging Face tokenizers' ByteLevel decoder (Tools/make_utf8_fixtures.py).
    static func fixture() throws -> [Fixture.Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/utf8_replacement.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)).cases
    }

    static func decode(_ pieces: [[UInt8]]) -> [String] {
        var decoder = UTF8StreamDecoder()
        return pieces.map { decoder.append($0) } + [decoder.finish()]
    }

    func testWholeInputMatchesTheReferenceDecode() throws {
        for c in try Self.fixture() {
            XCTAssertEqual(Self.decode([c.bytes]).joined(), c.text, c.name)
            XCTAssertEqual(String(decoding: c.bytes, as: UTF8.self), c.text, "Swift's own decoder, \(c.name)")
        }
    }

    func testEverySplitIntoTwoAndThreePiecesMatches() throws {
        for c in try Self.fixture() {
            let b = c.bytes
            for i in 0...b.count {
                XCTAssertEqual(Self.decode([Array(b[..<i]), Array(b[i...])]).joined(), c.text, "\(c.name) split \(i)")
                for j in i...b.count {
                    let pieces = [Array(b[..<i]), Array(b[i..<j]), Array(b[j...])]
                    XCTAssertEqual(Self.decode(pieces).joined(), c.text, "\(c.name) split \(i),\(j)")
                }
            }
            XCTAssertEqual(Self.decode(b.map { [$0] }).joined(), c.text, "\(c.name) byte by byte")
        }
    }

    func testValidCharactersAreHeldUntilCompleteNeverReplaced() {
        for character in ["é", "中", "😀", "€"] {
            let bytes = Array(character.utf8)
            for i in 1..<bytes.count {
                var decoder = UTF8StreamDecoder()
                XCTAssertEqual(decoder.append(bytes[..<i]), "", "\(character) held after \(i) bytes")
                XCTAssertEqual(decoder.pendingBytes.count, i)
                XCTAssertEqual(decoder.append(bytes[i...]), character)
                XCTAssertEqual(decoder.finish(), "")
            }
        }
    }

    func testEachScalarIsEmittedWhenComplete() {
        // "👍🏽" is one grapheme of two scalars; the first is complete (and valid text) after four bytes.
        var decoder = UTF8StreamDecoder()
        let bytes = Array("👍🏽".utf8)
        XCTAssertEqual(decoder.append(bytes[..<5]), "👍")
        XCTAssertEqual(decoder.append(bytes[5...]), "🏽")
    }

    func testInvalidBytesAreReplacedImmediately() {
        var decoder = UTF8StreamDecoder()
        XCTAssertEqual(decoder.append([0x61, 0xFF]), "a\u{FFFD}")
        XCTAssertEqual(decoder.append([0xE4, 0xB8]), "")  // valid so far: held
        XCTAssertEqual(decoder.append([0x41]), "\u{FFFD}A")  // broken by 'A': one U+FFFD for the two bytes
        XCTAssertEqual(decoder.append([0xE0, 0x80]), "\u{FFFD}\u{FFFD}")  // E0 80 is an overlong start: invalid now
    }

    func testFinishFlushesAnIncompleteTail() {
        var decoder = UTF8StreamDecoder()
        XCTAssertEqual(decoder.append(Array("ok".utf8) + [0xF0, 0x9F, 0x98]), "ok")
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
        XCTAssertEqual(decoder.finish(), "")
        XCTAssertEqual(decoder.append(Array("x".utf8)), "x")
    }
}
