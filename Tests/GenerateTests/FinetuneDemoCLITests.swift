import Foundation
import TestSupport
import XCTest

/// `tailor-finetune-demo` refuses bad numbers with a usage error before loading anything.
final class FinetuneDemoCLITests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = try BuiltProducts.executable("tailor-finetune-demo")
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testNegativeAndZeroCountsAreUsageErrors() throws {
        for (flag, value) in [("--eval-limit", "-1"), ("--epochs", "0"), ("--batch-size", "0"), ("--rank", "-2"), ("--learning-rate", "0")] {
            let result = try run(["--model", "/nonexistent.gguf", flag, value])
            XCTAssertEqual(result.status, 64, "\(flag) \(value): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(flag), "\(flag) \(value): \(result.stderr)")
        }
    }
}
