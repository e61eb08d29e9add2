import ArgumentParser
import Tailor

/// `tailor-bench`: benchmarks printing one JSON object per line.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailor-bench",
        abstract: "Benchmarks Tailor; prints one JSON object per line.",
        subcommands: [TrainBench.self, QuantBench.self]
    )
}

Bench.main()
