/// Who wrote a chat message.
public enum ChatRole: String, Sendable, Codable, Hashable, CaseIterable {
    /// Instructions that frame the whole conversation.
    case system
    /// The human side.
    case user
    /// The model side: the text a fine-tuned model learns to produce.
    case assistant
}

/// One turn of a conversation.
public struct ChatMessage: Sendable, Codable, Hashable {
    /// Who wrote the message.
    public var role: ChatRole
    /// The message text.
    public var content: String

    /// Creates a message.
    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: .assistant, content: content) }
}
