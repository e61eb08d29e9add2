import Model

/// Turns ``DataRecord``s into prompt/response text with a ``ChatTemplate``.
///
/// - alpaca records: with the ``ChatTemplate/alpaca`` template, Alpaca's own prompt (with its
///   `### Input:` section); with a chat template, one user turn (`instruction`, plus a blank line
///   and `input` when present) answered by `output`.
/// - chat records: rendered by the template; every assistant message is a response.
/// - completion records: `prompt` + `completion` concatenated as is, no template.
/// - text records: the text as is, all of it a response.
///
/// ``systemPrompt``, when set, is put first in every conversation that has no system message
/// (otherwise the template's default applies, e.g. Qwen2.5's).
public struct PromptFormatter: Sendable, Hashable {
    /// The template for alpaca and chat records.
    public var template: ChatTemplate
    /// A system message for conversations that lack one.
    public var systemPrompt: String?

    /// Creates a formatter.
    public init(template: ChatTemplate, systemPrompt: String? = nil) {
        self.template = template
        self.systemPrompt = systemPrompt
    }

    /// Whether the tokens of `record` are not framed by a chat template, so the tokenizer's own
    /// BOS convention applies (completion and text records, and the Alpaca layout).
    public func isRawText(_ record: DataRecord) -> Bool {
        switch record {
        case .completion, .text: return true
        case .alpaca, .chat: return template == .alpaca
        }
    }

    /// The record as prompt and response segments for training.
    public func segments(for record: DataRecord) throws -> [ChatSegment] {
        switch record {
        case .alpaca(let instruction, let input, let output):
            if template == .alpaca {
                return [ChatSegment(text: ChatTemplate.alpacaPrompt(instruction: instruction, input: input), isResponse: false),
                        ChatSegment(text: output, isResponse: true)].filter { !$0.text.isEmpty }
            }
            return try template.segments(withSystem([.user(userText(instruction, input)), .assistant(output)]),
                                         addGenerationPrompt: false)
        case .chat(let messages):
            return try template.segments(withSystem(messages), addGenerationPrompt: false)
        case .completion(let prompt, let completion):
            return [ChatSegment(text: prompt, isResponse: false), ChatSegment(text: completion, isResponse: true)]
                .filter { !$0.text.isEmpty }
        case .text(let text):
            return [ChatSegment(text: text, isResponse: true)]
        }
    }

    /// The text a model is given at generation time: everything before the expected answer, ending
    /// with the template's generation prompt (empty for text records).
    public func prompt(for record: DataRecord) throws -> String {
        switch record {
        case .alpaca(let instruction, let input, _):
            if template == .alpaca { return ChatTemplate.alpacaPrompt(instruction: instruction, input: input) }
            return try template.render(withSystem([.user(userText(instruction, input))]), addGenerationPrompt: true)
        case .chat(let messages):
            let end = messages.lastIndex { $0.role == .assistant } ?? messages.count
            return try template.render(withSystem(Array(messages[..<end])), addGenerationPrompt: true)
        case .completion(let prompt, _):
            return prompt
        case .text:
            return ""
        }
    }

    /// The expected answer: alpaca `output`, the last assistant message, the completion, or the text.
    public func reference(for record: DataRecord) -> String {
        switch record {
        case .alpaca(_, _, let output): return output
        case .chat(let messages): return messages.last { $0.role == .assistant }?.content ?? ""
        case .completion(_, let completion): return completion
        case .text(let text): return text
        }
    }

    private func userText(_ instruction: String, _ input: String) -> String {
        input.isEmpty ? instruction : instruction + "\n\n" + input
    }

    private func withSystem(_ messages: [ChatMessage]) -> [ChatMessage] {
        guard let systemPrompt, messages.first?.role != .system else { return messages }
        return [.system(systemPrompt)] + messages
    }
}
