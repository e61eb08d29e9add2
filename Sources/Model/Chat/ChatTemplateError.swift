/// Why a conversation cannot be rendered with a chat template.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// There are no messages to render.
    case emptyConversation
    /// The template needs user and assistant turns to alternate (after an optional first
    /// system message), starting with the user; `index` is the offending message.
    case rolesMustAlternate(index: Int)
    /// The template cannot place a message with this role at this position.
    case unsupportedRole(ChatRole, index: Int)

    public var description: String {
        switch self {
        case .emptyConversation:
            return "cannot render an empty conversation"
        case .rolesMustAlternate(let index):
            return "message \(index): roles must alternate user/assistant/user/… after an optional first system message"
        case .unsupportedRole(let role, let index):
            return "message \(index): the template has no place for a '\(role.rawValue)' message here"
        }
    }
}
