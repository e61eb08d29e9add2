import ArgumentParser
import Foundation
import Tailor

/// `tailor generate`: complete a prompt.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Complete a prompt (greedy by default), streaming the text.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @Flag(help: "Wrap the prompt as a user message in the model's chat template.") var chat = false
    @Argument(help: "The prompt.") var prompt: String

    func run() throws {
        let (m, tokenizer) = try model.load()
        let generator = Generator(model: m, tokenizer: tokenizer)
        var text = prompt
        var special = true
        if chat {
            text = try ChatTemplate.for(tokenizer: tokenizer).render([.user(prompt)], addGenerationPrompt: true)
            special = false
        }
        let result = try generator.generate(prompt: text, config: sampling.config, addSpecialTokens: special) { event in
            if case .token(_, let piece) = event { FileHandle.standardOutput.write(Data(piece.utf8)) }
            return true
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        FileHandle.standardError.write(Data("[\(result.tokenIDs.count) tokens, \(result.finishReason)]\n".utf8))
    }
}

extension ChatTemplate {
    /// The template a tokenizer's chat_template names, or ChatML.
    static func `for`(tokenizer: any Tokenizer) -> ChatTemplate {
        ChatTemplate.detect(tokenizer: tokenizer) ?? .qwen2_5
    }
}
