import ArgumentParser
import Foundation
import Tailor

/// `tailor chat`: an interactive, streaming conversation.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat", abstract: "Chat interactively (reads lines from standard input; /exit or EOF ends).")

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "System prompt.") var system: String?

    func run() throws {
        let (m, tokenizer) = try model.load()
        let generator = Generator(model: m, tokenizer: tokenizer)
        let template = ChatTemplate.for(tokenizer: tokenizer)
        var messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        let interactive = isatty(0) != 0
        while true {
            if interactive { FileHandle.standardError.write(Data("> ".utf8)) }
            guard let line = readLine(), line != "/exit" else { break }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            messages.append(.user(line))
            let prompt = try template.render(messages, addGenerationPrompt: true)
            let result = try generator.generate(prompt: prompt, config: sampling.config, addSpecialTokens: false) { event in
                if case .token(_, let piece) = event { FileHandle.standardOutput.write(Data(piece.utf8)) }
                return true
            }
            FileHandle.standardOutput.write(Data("\n".utf8))
            messages.append(.assistant(result.text))
        }
    }
}
