import Foundation
import Tailor

/// One alpaca record of the demo dataset.
struct DemoExample: Decodable {
    let instruction: String
    let input: String
    let output: String

    /// The conversation the model sees (and, with the answer, learns from).
    func messages(withAnswer: Bool) -> [ChatMessage] {
        var m: [ChatMessage] = [.system(DemoExample.systemPrompt), .user(instruction + "\n" + input)]
        if withAnswer { m.append(.assistant(output)) }
        return m
    }

    static let systemPrompt = "You are a helpful assistant."

    /// Reads a JSONL file; malformed lines are reported and skipped.
    static func load(_ url: URL) throws -> [DemoExample] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw DemoError("cannot read \(url.path)") }
        var out: [DemoExample] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do { out.append(try JSONDecoder().decode(DemoExample.self, from: Data(line.utf8))) } catch {
                FileHandle.standardError.write(Data("skipping \(url.lastPathComponent):\(i + 1): \(error)\n".utf8))
            }
        }
        guard !out.isEmpty else { throw DemoError("no examples in \(url.path)") }
        return out
    }
}

/// Tokenized training data: the prompt part is masked, the answer and its end-of-turn token are targets.
struct DemoBatches: TrainingBatches {
    let batches: [TrainingBatch]

    init(_ examples: [DemoExample], template: ChatTemplate, tokenizer: any Tokenizer, batchSize: Int, padID: Int32) throws {
        var rows: [(ids: [Int32], labels: [Int32])] = []
        for e in examples {
            var ids: [Int32] = [], isTarget: [Bool] = []
            for segment in try template.segments(e.messages(withAnswer: true), addGenerationPrompt: false) {
                let toks = tokenizer.encode(segment.text, addSpecialTokens: false).map(Int32.init)
                ids += toks
                isTarget += [Bool](repeating: segment.isResponse, count: toks.count)
            }
            // Position t predicts token t+1.
            let labels = (0..<ids.count).map { t in t + 1 < ids.count && isTarget[t + 1] ? ids[t + 1] : Tensor.ignoreIndex }
            rows.append((ids, labels))
        }
        // Group similar lengths so padding stays small.
        rows.sort { $0.ids.count < $1.ids.count }
        var batches: [TrainingBatch] = []
        for start in stride(from: 0, to: rows.count, by: batchSize) {
            let chunk = rows[start..<min(rows.count, start + batchSize)]
            let length = chunk.map(\.ids.count).max() ?? 0
            var ids: [Int32] = [], labels: [Int32] = [], real = 0
            for r in chunk {
                let pad = length - r.ids.count
                ids += r.ids + [Int32](repeating: padID, count: pad)
                labels += r.labels + [Int32](repeating: Tensor.ignoreIndex, count: pad)
                real += r.ids.count
            }
            batches.append(TrainingBatch(inputIDs: ids, labels: labels, batchSize: chunk.count, realTokenCount: real))
        }
        self.batches = batches
    }

    /// Batches in a seeded order per epoch.
    func batches(epoch: Int, seed: UInt64) -> [TrainingBatch] {
        var rng = SeededRandom(seed: seed &+ UInt64(epoch) &* 7919)
        return batches.shuffled(using: &rng)
    }

    var tokenCount: Int { batches.reduce(0) { $0 + $1.realTokenCount } }
}

/// A one-line error for the demo's user.
struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
