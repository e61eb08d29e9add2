import Model

/// The JSONL layouts Tailor reads, named by their fields.
public enum DataFormat: String, Sendable, Codable, Hashable, CaseIterable {
    /// `{"instruction", "input" (optional), "output"}`.
    case alpaca
    /// `{"messages": [{"role", "content"}, …]}` with roles system/user/assistant.
    case chat
    /// `{"prompt", "completion"}`: raw text, the completion is the target.
    case completion
    /// `{"text"}`: raw text, all of it is the target.
    case text
}

/// One training record, before prompt formatting and tokenization.
public enum DataRecord: Sendable, Hashable, Codable {
    /// An instruction, an optional input (empty when absent) and the expected output.
    case alpaca(instruction: String, input: String, output: String)
    /// A conversation; assistant messages are the targets.
    case chat([ChatMessage])
    /// A prompt continued by a completion (concatenated as is).
    case completion(prompt: String, completion: String)
    /// Plain text to model as a whole.
    case text(String)

    /// The layout this record has.
    public var format: DataFormat {
        switch self {
        case .alpaca: return .alpaca
        case .chat: return .chat
        case .completion: return .completion
        case .text: return .text
        }
    }

    /// The record with `transform` applied to every text field.
    public func mapText(_ transform: (String) -> String) -> DataRecord {
        switch self {
        case .alpaca(let instruction, let input, let output):
            return .alpaca(instruction: transform(instruction), input: transform(input), output: transform(output))
        case .chat(let messages):
            return .chat(messages.map { ChatMessage(role: $0.role, content: transform($0.content)) })
        case .completion(let prompt, let completion):
            return .completion(prompt: transform(prompt), completion: transform(completion))
        case .text(let text):
            return .text(transform(text))
        }
    }

    /// The text fields that must not be empty for the record to be usable: the target side
    /// (output, completion, text, the assistant messages) and the alpaca instruction.
    var requiredTexts: [String] {
        switch self {
        case .alpaca(let instruction, _, let output): return [instruction, output]
        case .chat(let messages): return messages.filter { $0.role == .assistant }.map(\.content)
        case .completion(_, let completion): return [completion]
        case .text(let text): return [text]
        }
    }

    /// All text fields in a fixed order, tagged with their field, for deduplication keys.
    var taggedTexts: [(tag: String, text: String)] {
        switch self {
        case .alpaca(let instruction, let input, let output):
            return [("instruction", instruction), ("input", input), ("output", output)]
        case .chat(let messages):
            return messages.map { ($0.role.rawValue, $0.content) }
        case .completion(let prompt, let completion):
            return [("prompt", prompt), ("completion", completion)]
        case .text(let text):
            return [("text", text)]
        }
    }
}
