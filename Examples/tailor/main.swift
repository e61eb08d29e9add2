import ArgumentParser
import Tailor

/// The `tailor` command-line tool.
struct TailorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailor",
        abstract: "Fine-tune, evaluate and run language models on a CPU.",
        subcommands: [GenerateCommand.self, ChatCommand.self,
                      MergeCommand.self, InspectCommand.self, TokenizeCommand.self]
    )
}

TailorCommand.main()
