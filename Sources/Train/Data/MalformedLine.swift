/// Why a JSONL line was skipped.
public enum MalformedReason: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The line is empty or only whitespace.
    case emptyLine
    /// The bytes are not valid UTF-8.
    case invalidUTF8
    /// The line is not valid JSON.
    case invalidJSON
    /// The JSON value is not an object.
    case notAnObject
    /// A required field is absent (or `null`).
    case missingField(String)
    /// A field has the wrong JSON type.
    case wrongType(field: String, expected: String)
    /// A required text field is empty or only whitespace.
    case emptyField(String)
    /// A chat message has a role other than system/user/assistant.
    case unknownRole(String)
    /// A chat has no assistant message, so nothing to learn.
    case noAssistantMessage

    /// A short category name, used for per-reason counts.
    public var category: String {
        switch self {
        case .emptyLine: return "empty line"
        case .invalidUTF8: return "invalid UTF-8"
        case .invalidJSON: return "invalid JSON"
        case .notAnObject: return "not a JSON object"
        case .missingField: return "missing field"
        case .wrongType: return "wrong type"
        case .emptyField: return "empty field"
        case .unknownRole: return "unknown role"
        case .noAssistantMessage: return "no assistant message"
        }
    }

    public var description: String {
        switch self {
        case .missingField(let field): return "missing field \"\(field)\""
        case .wrongType(let field, let expected): return "field \"\(field)\" is not \(expected)"
        case .emptyField(let field): return "field \"\(field)\" is empty"
        case .unknownRole(let role): return "unknown role \"\(role)\""
        default: return category
        }
    }
}

/// A skipped input line: its 1-based line number (or record index for in-memory data) and why.
public struct MalformedLine: Sendable, Hashable, Codable, CustomStringConvertible {
    /// 1-based line number in the file.
    public var lineNumber: Int
    /// Why the line was skipped.
    public var reason: MalformedReason

    /// Creates an entry.
    public init(lineNumber: Int, reason: MalformedReason) {
        self.lineNumber = lineNumber
        self.reason = reason
    }

    public var description: String { "line \(lineNumber): \(reason)" }
}
