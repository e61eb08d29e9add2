/// A chat prompt format: how a conversation becomes the single string a model reads.
///
/// Each case reproduces the reference Jinja template byte for byte (checked against Hugging Face
/// `transformers`' `apply_chat_template` in `ChatTemplateTests`):
/// - ``chatML(defaultSystemPrompt:)``: `<|im_start|>role\ncontent<|im_end|>\n` per message
///   (Qwen, many others). Qwen2.5 always starts with a system turn, inserting its default
///   system prompt when the conversation has none; pass `nil` for plain ChatML.
/// - ``llama2(bosToken:eosToken:)``: Llama-2-chat, `<s>[INST] <<SYS>>\n…\n<</SYS>>\n\nuser [/INST] answer </s>`.
/// - ``llama3(bosToken:)``: Llama-3-instruct, `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`.
/// - ``alpaca``: the Alpaca instruction format (`### Instruction:` / `### Input:` / `### Response:`).
public enum ChatTemplate: Sendable, Codable, Hashable {
    /// ChatML with an optional system prompt used when the conversation has none.
    case chatML(defaultSystemPrompt: String?)
    /// Llama-2-chat with the model's BOS and EOS token strings.
    case llama2(bosToken: String, eosToken: String)
    /// Llama-3-instruct with the model's BOS token string.
    case llama3(bosToken: String)
    /// Alpaca's instruction/response layout (not a Jinja template; the Alpaca project's prompts,
    /// with a newline after `### Response:`).
    case alpaca

    /// Qwen2.5's ChatML, whose default system prompt is "You are Qwen, created by Alibaba Cloud.
    /// You are a helpful assistant." (as in Qwen2.5-Coder-0.5B-Instruct's GGUF template).
    public static let qwen2_5 = ChatTemplate.chatML(defaultSystemPrompt: qwen2_5SystemPrompt)
    /// Qwen2.5's default system prompt.
    public static let qwen2_5SystemPrompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    /// Llama-2-chat with SentencePiece's `<s>` / `</s>`.
    public static let llama2Chat = ChatTemplate.llama2(bosToken: "<s>", eosToken: "</s>")
    /// Llama-3-instruct with `<|begin_of_text|>`.
    public static let llama3Instruct = ChatTemplate.llama3(bosToken: "<|begin_of_text|>")

    /// Renders `messages` to the prompt string. With `addGenerationPrompt`, the text that opens an
    /// assistant turn is appended so a model continues with its answer (Llama-2 has none: its
    /// prompt already ends with `[/INST]`).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        try segments(messages, addGenerationPrompt: addGenerationPrompt).map(\.text).joined()
    }

    /// Renders `messages` as prompt and response segments (see ``ChatSegment``); their texts
    /// joined equal ``render(_:addGenerationPrompt:)``.
    public func segments(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> [ChatSegment] {
        guard !messages.isEmpty else { throw ChatTemplateError.emptyConversation }
        var out = SegmentBuilder()
        switch self {
        case .chatML(let defaultSystemPrompt):
            renderChatML(messages, defaultSystemPrompt: defaultSystemPrompt, addGenerationPrompt: addGenerationPrompt, into: &out)
        case .llama2(let bos, let eos):
            try renderLlama2(messages, bos: bos, eos: eos, into: &out)
        case .llama3(let bos):
            renderLlama3(messages, bos: bos, addGenerationPrompt: addGenerationPrompt, into: &out)
        case .alpaca:
            renderAlpaca(messages, addGenerationPrompt: addGenerationPrompt, into: &out)
        }
        return out.segments
    }

    /// The Alpaca prompt for one instruction and an optional input, ending with `### Response:\n`.
    /// An empty `input` selects the no-input preamble, as in the Alpaca project.
    public static func alpacaPrompt(instruction: String, input: String) -> String {
        if input.isEmpty {
            return alpacaPreambleNoInput + "\n\n### Instruction:\n" + instruction + "\n\n### Response:\n"
        }
        return alpacaPreambleWithInput + "\n\n### Instruction:\n" + instruction + "\n\n### Input:\n" + input + "\n\n### Response:\n"
    }

    /// Alpaca's preamble when there is no input.
    public static let alpacaPreambleNoInput =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
    /// Alpaca's preamble when an input accompanies the instruction.
    public static let alpacaPreambleWithInput =
        "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request."

    // MARK: - Renderers

    private func renderChatML(_ messages: [ChatMessage], defaultSystemPrompt: String?, addGenerationPrompt: Bool,
                              into out: inout SegmentBuilder) {
        if messages[0].role != .system, let system = defaultSystemPrompt {
            out.prompt("<|im_start|>system\n" + system + "<|im_end|>\n")
        }
        for message in messages {
            out.prompt("<|im_start|>" + message.role.rawValue + "\n")
            if message.role == .assistant {
                out.response(message.content + "<|im_end|>")
                out.prompt("\n")
            } else {
                out.prompt(message.content + "<|im_end|>\n")
            }
        }
        if addGenerationPrompt { out.prompt("<|im_start|>assistant\n") }
    }

    private func renderLlama2(_ messages: [ChatMessage], bos: String, eos: String, into out: inout SegmentBuilder) throws {
        var system: String?
        var turns = messages[...]
        if messages[0].role == .system {
            system = messages[0].content
            turns = messages.dropFirst()
        }
        for (turn, message) in turns.enumerated() {
            let index = turn + (system == nil ? 0 : 1)
            if message.role == .system { throw ChatTemplateError.unsupportedRole(.system, index: index) }
            guard (message.role == .user) == (turn % 2 == 0) else { throw ChatTemplateError.rolesMustAlternate(index: index) }
            var content = message.content
            if turn == 0, let system {
                content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content
            }
            if message.role == .user {
                out.prompt(bos + "[INST] " + content.strippingPythonWhitespace() + " [/INST]")
            } else {
                out.response(" " + content.strippingPythonWhitespace() + " " + eos)
            }
        }
    }

    private func renderLlama3(_ messages: [ChatMessage], bos: String, addGenerationPrompt: Bool, into out: inout SegmentBuilder) {
        out.prompt(bos)
        for message in messages {
            out.prompt("<|start_header_id|>" + message.role.rawValue + "<|end_header_id|>\n\n")
            let body = message.content.strippingPythonWhitespace() + "<|eot_id|>"
            if message.role == .assistant { out.response(body) } else { out.prompt(body) }
        }
        if addGenerationPrompt { out.prompt("<|start_header_id|>assistant<|end_header_id|>\n\n") }
    }

    /// Alpaca from messages: a first system message replaces the preamble; each user message is an
    /// `### Instruction:` block and each assistant message a `### Response:` block; a blank line
    /// follows every block except a final response.
    private func renderAlpaca(_ messages: [ChatMessage], addGenerationPrompt: Bool, into out: inout SegmentBuilder) {
        var rest = messages[...]
        if messages[0].role == .system {
            out.prompt(messages[0].content + "\n\n")
            rest = messages.dropFirst()
        } else {
            out.prompt(Self.alpacaPreambleNoInput + "\n\n")
        }
        for (offset, message) in rest.enumerated() {
            let isLast = offset == rest.count - 1 && !addGenerationPrompt
            switch message.role {
            case .system, .user:
                out.prompt("### Instruction:\n" + message.content + "\n\n")
            case .assistant:
                out.prompt("### Response:\n")
                out.response(message.content)
                if !isLast { out.prompt("\n\n") }
            }
        }
        if addGenerationPrompt { out.prompt("### Response:\n") }
    }
}
