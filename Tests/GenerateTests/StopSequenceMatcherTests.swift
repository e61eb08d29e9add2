import Tensor
import XCTest
import Generate

final class StopSequenceMatcherTests: XCTestCase {
    /// Feeds `deltas` and returns every emitted piece (with the final flush when no stop matched) and the stop.
    static func run(_ stops: [String], _ deltas: [String]) -> (pieces: [String], stop: String?) {
        var matcher = StopSequenceMatcher(stopStrings: stops)
        var pieces: [String] = []
        for delta in deltas {
            let out = matcher.append(delta)
            pieces.append(out.text)
            if let stop = out.stop { return (pieces, stop) }
        }
        pieces.append(matcher.finish().text)
        return (pieces, nil)
    }

    /// The specification, on the whole text: stop at the first position where a stop string ends (the longest
    /// one ending there), emitting what comes before it.
    static func reference(_ stops: [String], _ text: String) -> (text: String, stop: String?) {
        let scalars = Array(text.unicodeScalars)
        let patterns = stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) }
        for end in 0...scalars.count {
            let ending = patterns.enumerated().filter { _, p in
                p.count <= end && Array(scalars[(end - p.count)..<end]) == p
            }
            if let (index, p) = ending.max(by: { $0.1.count < $1.1.count }) {
                var prefix = String.UnicodeScalarView()
                prefix.append(contentsOf: scalars[0..<(end - p.count)])
                return (String(prefix), stops.filter { !$0.isEmpty }[index])
            }
        }
        return (text, nil)
    }

    func testStopSplitAcrossTwoAndThreeDeltas() {
        let two = Self.run(["<end>"], ["Hello <e", "nd> ignored"])
        XCTAssertEqual(two.pieces, ["Hello ", ""])
        XCTAssertEqual(two.stop, "<end>")
        let three = Self.run(["<end>"], ["Hi <", "en", "d>"])
        XCTAssertEqual(three.pieces, ["Hi ", "", ""])
        XCTAssertEqual(three.stop, "<end>")
    }

    func testPartialPrefixThatDoesNotCompleteIsReleased() {
        let result = Self.run(["<end>"], ["a <e", "nx b", " <en"])
        XCTAssertEqual(result.pieces, ["a ", "<enx b", " ", "<en"])
        XCTAssertNil(result.stop)
    }

    func testOverlappingPrefixes() {
        // "abaabab": the first "aba" cannot become "abab" once the second "a" arrives, but its tail "a" can.
        let chars = Self.run(["abab"], "abaabab".map(String.init))
        XCTAssertEqual(chars.pieces.joined(), "aba")
        XCTAssertEqual(chars.stop, "abab")
        XCTAssertEqual(chars.pieces, ["", "", "", "aba", "", "", ""])
        let whole = Self.run(["abab"], ["abaabab"])
        XCTAssertEqual(whole.pieces, ["aba"])
    }

    func testMultipleStopStringsFirstToEndWins() {
        XCTAssertEqual(Self.run(["abcd", "bc"], ["abcd"]).stop, "bc")
        XCTAssertEqual(Self.run(["abcd", "bc"], ["abcd"]).pieces, ["a"])
        XCTAssertEqual(Self.run(["\n\n", "User:"], ["Answer.\nUs", "er: more"]).pieces, ["Answer.\n", ""])
        XCTAssertEqual(Self.run(["\n\n", "User:"], ["Answer.\nUs", "er: more"]).stop, "User:")
        // Two stops ending at the same place: the longer one is removed whole.
        XCTAssertEqual(Self.run(["b", "ab"], ["xab"]).pieces, ["x"])
    }

    func testNothingIsEmittedAfterTheStop() {
        var matcher = StopSequenceMatcher(stopStrings: ["STOP"])
        XCTAssertEqual(matcher.append("one STOP two"), .init(text: "one ", stop: "STOP"))
        XCTAssertTrue(matcher.isStopped)
        XCTAssertEqual(matcher.append("three"), .init(text: ""))
        XCTAssertEqual(matcher.finish(), .init(text: ""))
    }

    func testMultiByteStopsAndScalarMatching() {
        XCTAssertEqual(Self.run(["。"], ["你好", "。再见"]).pieces, ["你好", ""])
        XCTAssertEqual(Self.run(["🛑"], ["go ", "🛑"]).pieces, ["go ", ""])
        // Matching is on scalars: "\n" is found inside the grapheme "\r\n".
        XCTAssertEqual(Self.run(["\n"], ["a\r\nb"]).pieces, ["a\r"])
    }

    func testNoStopsPassesTextThroughAndEmptyStopsAreIgnored() {
        XCTAssertEqual(Self.run([], ["a", "b"]).pieces, ["a", "b", ""])
        XCTAssertEqual(Self.run([""], ["a", "b"]).pieces, ["a", "b", ""])
    }

    func testAnySplitGivesTheSameResultAsTheWholeText() {
        var random = SeededRandom(seed: 99)
        let alphabet = Array("ab c\né")
        func word(_ length: Int) -> String {
            String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
        }
        for _ in 0..<2_000 {
            let stops = (0..<(1 + Int(random.next() % 3))).map { _ in word(1 + Int(random.next() % 4)) }
            let text = word(Int(random.next() % 16))
            var deltas: [String] = []
            var rest = Substring(text)
            while !rest.isEmpty {
                let n = 1 + Int(random.next() % 4)
                deltas.append(String(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
            let expected = Self.reference(stops, text)
            let got = Self.run(stops, deltas)
            XCTAssertEqual(got.pieces.joined(), expected.text, "stops \(stops) text \(text.debugDescription)")
            XCTAssertEqual(got.stop, expected.stop, "stops \(stops) text \(text.debugDescription)")
        }
    }
}
