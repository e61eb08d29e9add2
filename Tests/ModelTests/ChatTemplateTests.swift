import Foundation
import XCTest
import Model

/// Checks Tailor's chat renderers against conversations rendered by the real Jinja templates with
/// transformers (fixture from Tools/make_chat_template_fixtures.py).
final class ChatTemplateTests: XCTestCase {
    private struct Fixture: Decodable {
        struct Case: Decodable {
            let template: String
            let title: String
            let messages: [ChatMessage]
            let add_generation_prompt: Bool
            let expected: String
        }
        struct AlpacaPrompt: Decodable {
            let instruction: String
            let input: String
            let expected: String
        }
        let templates: [String: String]
        let unknown_template: String
        let cases: [Case]
        let alpaca_prompts: [AlpacaPrompt]
    }

    private static func loadFixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/chat_templates.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    private static let templatesByName: [String: ChatTemplate] = [
        "qwen2.5": .qwen2_5,
        "chatml": .chatML(defaultSystemPrompt: nil),
        "llama2": .llama2Chat,
        "llama3": .llama3Instruct,
        "alpaca": .alpaca,
    ]

    func testRenderingMatchesJinjaReference() throws {
        let fixture = try Self.loadFixture()
        XCTAssertGreaterThan(fixture.cases.count, 100)
        for c in fixture.cases {
            let template = try XCTUnwrap(Self.templatesByName[c.template])
            let rendered = try template.render(c.messages, addGenerationPrompt: c.add_generation_prompt)
            XCTAssertEqual(rendered, c.expected, "\(c.template) / \(c.title) / gen=\(c.add_generation_prompt)")
        }
    }

    func testSegmentsJoinToRenderingAndMarkOnlyAssistantText() throws {
        let fixture = try Self.loadFixture()
        let endMarkers = ["qwen2.5": "<|im_end|>", "chatml": "<|im_end|>", "llama2": "</s>", "llama3": "<|eot_id|>", "alpaca": ""]
        for c in fixture.cases {
            let template = try XCTUnwrap(Self.templatesByName[c.template])
            let segments = try template.segments(c.messages, addGenerationPrompt: c.add_generation_prompt)
            XCTAssertEqual(segments.map(\.text).joined(), c.expected, c.title)
            // Neighbouring segments alternate kinds and none is empty.
            for (a, b) in zip(segments, segments.dropFirst()) { XCTAssertNotEqual(a.isResponse, b.isResponse) }
            XCTAssertFalse(segments.contains { $0.text.isEmpty })
            let responses = segments.filter(\.isResponse)
            let assistantTurns = c.messages.filter { $0.role == .assistant }
            let marker = try XCTUnwrap(endMarkers[c.template])
            // Every response segment ends with the end-of-turn marker, and no user text is in one.
            for r in responses { XCTAssertTrue(r.text.hasSuffix(marker), "\(c.template) / \(c.title): \(r.text)") }
            for user in c.messages where user.role == .user && !user.content.strippingPythonWhitespace().isEmpty {
                XCTAssertFalse(responses.contains { $0.text.contains(user.content.strippingPythonWhitespace()) }, c.title)
            }
            // As many response segments as non-empty assistant turns (empty ones merge with nothing
            // only when the template adds a marker).
            if marker.isEmpty {
                XCTAssertEqual(responses.count, assistantTurns.filter { !$0.content.isEmpty }.count, c.title)
            } else {
                XCTAssertEqual(responses.count, assistantTurns.count, "\(c.template) / \(c.title)")
            }
        }
    }

    func testQwenSegmentsExactly() throws {
        let segments = try ChatTemplate.qwen2_5.segments([.user("Hi"), .assistant("Hello!")], addGenerationPrompt: false)
        XCTAssertEqual(segments, [
            ChatSegment(text: "<|im_start|>system\n\(ChatTemplate.qwen2_5SystemPrompt)<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", isResponse: false),
            ChatSegment(text: "Hello!<|im_end|>", isResponse: true),
            ChatSegment(text: "\n", isResponse: false),
        ])
    }

    func testAlpacaPromptsMatchReference() throws {
        for p in try Self.loadFixture().alpaca_prompts {
            XCTAssertEqual(ChatTemplate.alpacaPrompt(instruction: p.instruction, input: p.input), p.expected)
        }
    }

    func testDetectionFromRealTemplates() throws {
        let fixture = try Self.loadFixture()
        XCTAssertEqual(ChatTemplate.detect(jinja: try XCTUnwrap(fixture.templates["qwen2.5"])), .qwen2_5)
        XCTAssertEqual(ChatTemplate.detect(jinja: try XCTUnwrap(fixture.templates["chatml"])), .chatML(defaultSystemPrompt: nil))
        XCTAssertEqual(ChatTemplate.detect(jinja: try XCTUnwrap(fixture.templates["llama2"])), .llama2Chat)
        XCTAssertEqual(ChatTemplate.detect(jinja: try XCTUnwrap(fixture.templates["llama3"])), .llama3Instruct)
        XCTAssertEqual(ChatTemplate.detect(jinja: try XCTUnwrap(fixture.templates["llama3"]), bosToken: "<BOS>"), .llama3(bosToken: "<BOS>"))
        XCTAssertEqual(ChatTemplate.detect(jinja: "{{ '### Instruction:\\n' + messages[0]['content'] }}"), .alpaca)
        XCTAssertNil(ChatTemplate.detect(jinja: fixture.unknown_template))
        // Qwen2's older default system prompt is picked up the same way.
        let qwen2 = "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
        XCTAssertEqual(ChatTemplate.detect(jinja: qwen2), .chatML(defaultSystemPrompt: "You are a helpful assistant."))
    }

    func testErrorsForConversationsATemplateCannotRender() {
        XCTAssertThrowsError(try ChatTemplate.qwen2_5.render([], addGenerationPrompt: true)) {
            XCTAssertEqual($0 as? ChatTemplateError, .emptyConversation)
        }
        XCTAssertThrowsError(try ChatTemplate.llama2Chat.render([.user("a"), .user("b")], addGenerationPrompt: false)) {
            XCTAssertEqual($0 as? ChatTemplateError, .rolesMustAlternate(index: 1))
        }
        XCTAssertThrowsError(try ChatTemplate.llama2Chat.render([.system("s"), .assistant("a")], addGenerationPrompt: false)) {
            XCTAssertEqual($0 as? ChatTemplateError, .rolesMustAlternate(index: 1))
        }
        XCTAssertThrowsError(try ChatTemplate.llama2Chat.render([.user("a"), .system("s")], addGenerationPrompt: false)) {
            XCTAssertEqual($0 as? ChatTemplateError, .unsupportedRole(.system, index: 1))
        }
        XCTAssertFalse(ChatTemplateError.rolesMustAlternate(index: 3).description.isEmpty)
    }

    func testTemplateIsCodable() throws {
        for template in Self.templatesByName.values {
            let data = try JSONEncoder().encode(template)
            XCTAssertEqual(try JSONDecoder().decode(ChatTemplate.self, from: data), template)
        }
    }

    func testPythonWhitespaceHelpersMatchPython() {
        XCTAssertEqual("\u{3000}\u{1C}a b\u{85}\u{A0}".strippingPythonWhitespace(), "a b")
        XCTAssertEqual("  x\u{200B}".strippingPythonWhitespace(), "x\u{200B}")  // ZWSP is not whitespace in Python
        XCTAssertEqual(" a\t\u{2028}b  c\n".splitOnPythonWhitespace(), ["a", "b", "c"])
        XCTAssertEqual("a \n".rstrippingPythonWhitespace(), "a")
        XCTAssertEqual("   ".strippingPythonWhitespace(), "")
    }
}

/// `pythonLowercased()` against values printed by Python's `str.lower()`.
final class PythonLowercaseTests: XCTestCase {
    func testMatchesPythonLower() {
        // python3 -c "print(ascii('ΣΊΣΥΦΟΣ ΟΔΟΣ. Σ AΣ\u0301B İx \u212a ÀÉ'.lower()))"
        // → '\u03c3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 \u03bf\u03b4\u03bf\u03c2. \u03c3 a\u03c3\u0301b i\u0307x k \xe0\xe9'
        let input = "ΣΊΣΥΦΟΣ ΟΔΟΣ. Σ AΣ\u{301}B İx \u{212A} ÀÉ"
        let expected = "\u{3c3}\u{3af}\u{3c3}\u{3c5}\u{3c6}\u{3bf}\u{3c2} \u{3bf}\u{3b4}\u{3bf}\u{3c2}. \u{3c3} a\u{3c3}\u{301}b i\u{307}x k \u{e0}\u{e9}"
        XCTAssertEqual(Array(input.pythonLowercased().unicodeScalars), Array(expected.unicodeScalars))
        XCTAssertEqual("already lower".pythonLowercased(), "already lower")
    }
}
