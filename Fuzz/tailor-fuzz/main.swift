// tailor-fuzz NAME [libFuzzer options | files…]   (or TAILOR_FUZZ_HARNESS=NAME tailor-fuzz …)
// tailor-fuzz checkpoint --write-seed FILE         (normal build: a real checkpoint as a seed input)
//
// Built normally it replays files (or folders of files) through harness NAME. Built by
// Scripts/fuzz.sh with -DFUZZING and coverage + AddressSanitizer, it hands NAME's harness to
// libFuzzer (all remaining arguments are libFuzzer's).
import FuzzHarnesses
import Foundation

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The harness libFuzzer's C callback runs (chosen once, before fuzzing starts).
nonisolated(unsafe) var selected: FuzzHarness?
#endif

// The harness comes from TAILOR_FUZZ_HARNESS (which libFuzzer's fork-mode children inherit) or
// the first argument.
let arguments = CommandLine.arguments
let fromEnvironment = ProcessInfo.processInfo.environment["TAILOR_FUZZ_HARNESS"]
guard let name = fromEnvironment ?? (arguments.count >= 2 ? arguments[1] : nil), let harness = FuzzHarness.all[name] else {
    FileHandle.standardError.write(Data("usage: tailor-fuzz NAME …; NAME is one of \(FuzzHarness.all.keys.sorted().joined(separator: ", "))\n".utf8))
    exit(2)
}
let firstInput = fromEnvironment == nil ? 2 : 1

#if FUZZING
selected = harness
var argc = CommandLine.argc - CInt(firstInput - 1)
var argv = CommandLine.unsafeArgv + (firstInput - 1)  // libFuzzer sees only its own options
argv[0] = CommandLine.unsafeArgv[0]
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    selected?.run(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
})
#else
if name == "checkpoint", arguments.count == firstInput + 2, arguments[firstInput] == "--write-seed" {
    // A real one-step checkpoint in the harness's input format (the seed of its corpus).
    do { try CheckpointHarness.seed().write(to: URL(fileURLWithPath: arguments[firstInput + 1])) } catch {
        FileHandle.standardError.write(Data("cannot write the seed: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
var count = 0
for path in arguments.dropFirst(firstInput) {
    for file in FuzzCorpus.files(at: URL(fileURLWithPath: path)) {
        if let data = try? Data(contentsOf: file) { harness.run(data); count += 1 }
    }
}
print("replayed \(count) inputs through \(harness.name)")
#endif
