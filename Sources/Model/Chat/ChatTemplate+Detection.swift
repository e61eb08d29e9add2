import Foundation

extension ChatTemplate {
    /// Picks the template family a model's Jinja `chat_template` implements, by its markers:
    /// `<|im_start|>` → ChatML, `<|start_header_id|>` → Llama-3, `[INST]` → Llama-2,
    /// `### Instruction` → Alpaca. Returns `nil` for anything else.
    ///
    /// For ChatML, a literal default system turn in the template (`'<|im_start|>system\n…<|im_end|>`,
    /// as Qwen2 and Qwen2.5 have) becomes `defaultSystemPrompt`. `bosToken`/`eosToken` are the
    /// model's token strings (Llama defaults when `nil`). Mistral-style `[INST]` templates without
    /// `<<SYS>>` are rendered in the Llama-2 layout, which is close but not identical.
    public static func detect(jinja: String, bosToken: String? = nil, eosToken: String? = nil) -> ChatTemplate? {
        if jinja.contains("<|im_start|>") {
            return .chatML(defaultSystemPrompt: literalDefaultSystemPrompt(in: jinja))
        }
        if jinja.contains("<|start_header_id|>") {
            return .llama3(bosToken: bosToken ?? "<|begin_of_text|>")
        }
        if jinja.contains("[INST]") {
            return .llama2(bosToken: bosToken ?? "<s>", eosToken: eosToken ?? "</s>")
        }
        if jinja.contains("### Instruction") {
            return .alpaca
        }
        return nil
    }

    /// The template of a tokenizer's model, from its Jinja `chatTemplate` and BOS/EOS strings.
    public static func detect(tokenizer: some Tokenizer) -> ChatTemplate? {
        guard let jinja = tokenizer.chatTemplate else { return nil }
        func text(_ id: Int?) -> String? {
            guard let id else { return nil }
            let text = tokenizer.decode([id], skipSpecialTokens: false)
            return text.isEmpty ? nil : text
        }
        return detect(jinja: jinja, bosToken: text(tokenizer.bosTokenID), eosToken: text(tokenizer.eosTokenID))
    }

    /// Finds `<|im_start|>system\n` + literal text + `<|im_end|>` inside one Jinja string literal
    /// (no quotes or expressions in between) and returns the unescaped text.
    private static func literalDefaultSystemPrompt(in jinja: String) -> String? {
        let opener = #"<|im_start|>system\n"#
        var searchStart = jinja.startIndex
        while let open = jinja.range(of: opener, range: searchStart..<jinja.endIndex) {
            searchStart = open.upperBound
            guard let close = jinja.range(of: "<|im_end|>", range: open.upperBound..<jinja.endIndex) else { return nil }
            let body = jinja[open.upperBound..<close.lowerBound]
            if body.isEmpty || body.contains(where: { $0 == "'" || $0 == "\"" || $0 == "{" || $0 == "}" }) { continue }
            return unescapeJinjaLiteral(body)
        }
        return nil
    }

    private static func unescapeJinjaLiteral(_ text: Substring) -> String {
        var out = ""
        var escaped = false
        for ch in text {
            if escaped {
                switch ch {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(ch)
                }
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
