import ArgumentParser
import Foundation
import Tailor

/// `tailor tokenize`: print token ids, one line per input.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of --text or of each line of --file (space-separated, one line per input).")

    @Option(help: "tokenizer.json, a model folder, or any .gguf (vocab-only files included).") var tokenizer: String
    @Option(help: "Text to encode.") var text: String?
    @Option(help: "A file whose lines are encoded one by one.") var file: String?
    @Flag(help: "Add the model's BOS/EOS tokens.") var addSpecial = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: tokenizer)
        guard FileManager.default.fileExists(atPath: url.path) else { throw CLIError("no tokenizer at \(tokenizer)") }
        let tok = try TokenizerLoader.load(from: url)
        var inputs: [String]
        if let text { inputs = [text] } else {
            guard let file, let content = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIError("cannot read \(file ?? "")")
            }
            inputs = content.components(separatedBy: "\n")
            if inputs.last == "" { inputs.removeLast() }
        }
        var out = ""
        for line in inputs {
            out += tok.encode(line, addSpecialTokens: addSpecial).map(String.init).joined(separator: " ") + "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
