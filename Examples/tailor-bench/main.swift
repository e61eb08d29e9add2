import ArgumentParser
import Tailor

/// `tailor-bench`: benchmarks printing one JSON object per line.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailor-bench",
        abstract: "Benchmarks Tailor; prints one JSON object per line.",
        subcommands: [MatmulBench.self, AttentionBench.self, KernelBench.self, QuantBench.self, DequantizeBench.self, TokenizerBench.self, LoadBench.self, PrefillBench.self, DecodeBench.self, TrainBench.self, OptimizerBench.self, AllBench.self]
    )
}

/// `tailor-bench all`: every benchmark above in sequence.
struct AllBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "Runs matmul, attention and kernels.")

    @Flag(help: "Short runs.")
    var quick = false

    func run() throws {
        let arguments = quick ? ["--quick"] : []
        try MatmulBench.parse(arguments).run()
        try AttentionBench.parse(arguments).run()
        try KernelBench.parse(arguments).run()
        emit([("bench", .string("summary")), ("peak_rss_mb", .number(peakRSSMegabytes() ?? .nan, decimals: 1))])
    }
}

Bench.main()
