import Foundation
import Model

/// Turns one parsed JSON object into a ``DataRecord`` of a given format, or says why it cannot.
enum RecordDecoder {
    /// The format whose identifying fields `object` has, if any: `messages` → chat,
    /// `instruction`/`output` → alpaca, `prompt`/`completion` → completion, `text` → text.
    static func detectFormat(_ object: [String: Any]) -> DataFormat? {
        if object["messages"] != nil { return .chat }
        if object["instruction"] != nil || object["output"] != nil { return .alpaca }
        if object["prompt"] != nil || object["completion"] != nil { return .completion }
        if object["text"] != nil { return .text }
        return nil
    }

    static func decode(_ object: [String: Any], as format: DataFormat) -> Result<DataRecord, MalformedReason> {
        do {
            switch format {
            case .alpaca:
                let instruction = try requiredString(object, "instruction")
                let input = try optionalString(object, "input") ?? ""
                let output = try requiredString(object, "output")
                return .success(.alpaca(instruction: instruction, input: input, output: output))
            case .chat:
                return .success(.chat(try messages(object)))
            case .completion:
                let prompt = try optionalString(object, "prompt") ?? ""
                if object["prompt"] == nil { throw MalformedReason.missingField("prompt") }
                return .success(.completion(prompt: prompt, completion: try requiredString(object, "completion")))
            case .text:
                return .success(.text(try requiredString(object, "text")))
            }
        } catch let reason as MalformedReason {
            return .failure(reason)
        } catch {
            return .failure(.invalidJSON)
        }
    }

    private static func isNull(_ value: Any?) -> Bool { value == nil || value is NSNull }

    private static func requiredString(_ object: [String: Any], _ field: String) throws -> String {
        guard let text = try optionalString(object, field) else { throw MalformedReason.missingField(field) }
        return text
    }

    private static func optionalString(_ object: [String: Any], _ field: String) throws -> String? {
        let value = object[field]
        if isNull(value) { return nil }
        guard let text = value as? String else { throw MalformedReason.wrongType(field: field, expected: "a string") }
        return text
    }

    private static func messages(_ object: [String: Any]) throws -> [ChatMessage] {
        let value = object["messages"]
        if isNull(value) { throw MalformedReason.missingField("messages") }
        guard let list = value as? [Any] else { throw MalformedReason.wrongType(field: "messages", expected: "an array") }
        guard !list.isEmpty else { throw MalformedReason.emptyField("messages") }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(list.count)
        for (index, item) in list.enumerated() {
            let path = "messages[\(index)]"
            guard let message = item as? [String: Any] else { throw MalformedReason.wrongType(field: path, expected: "an object") }
            let roleName = try requiredString(message, "role", path: path)
            guard let role = ChatRole(rawValue: roleName) else { throw MalformedReason.unknownRole(roleName) }
            let content = try requiredString(message, "content", path: path)
            messages.append(ChatMessage(role: role, content: content))
        }
        guard messages.contains(where: { $0.role == .assistant }) else { throw MalformedReason.noAssistantMessage }
        return messages
    }

    private static func requiredString(_ object: [String: Any], _ field: String, path: String) throws -> String {
        let value = object[field]
        if isNull(value) { throw MalformedReason.missingField("\(path).\(field)") }
        guard let text = value as? String else { throw MalformedReason.wrongType(field: "\(path).\(field)", expected: "a string") }
        return text
    }
}

extension MalformedReason: Error {}
