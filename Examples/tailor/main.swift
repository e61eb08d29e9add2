import ArgumentParser
import Foundation
import Tailor

/// The `tailor` command-line tool.
struct TailorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailor",
        abstract: "Fine-tune, evaluate and run language models on a CPU.",
        subcommands: [GenerateCommand.self, ChatCommand.self, FinetuneCommand.self, EvalCommand.self, AugmentCommand.self,
                      MergeCommand.self, InspectCommand.self, TokenizeCommand.self, QuantizeCommand.self, ServeCommand.self,
                      ExportCommand.self]
    )
}

/// Runs the command line. Help and version requests print as usual; every failure — a bad flag, a
/// missing or malformed file, an error from the library — prints one line `error: …` on standard
/// error and exits non-zero (64 for usage errors, 1 otherwise).
func runTailor() -> Never {
    do {
        var command = try TailorCommand.parseAsRoot()
        try command.run()
        exit(0)
    } catch {
        let code = TailorCommand.exitCode(for: error)
        if code == .success { TailorCommand.exit(withError: error) }
        if error is ExitCode { exit(code.rawValue) }
        var message = TailorCommand.message(for: error)
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        if message.isEmpty { message = "\(type(of: error))" }
        if code == .validationFailure {
            let names = TailorCommand.configuration.subcommands.map { $0.configuration.commandName ?? "" }
            let sub = CommandLine.arguments.dropFirst().first.flatMap { names.contains($0) ? " " + $0 : nil } ?? ""
            message += " (see 'tailor\(sub) --help')"
        }
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(code.rawValue)
    }
}

runTailor()
