import ArgumentParser
import Foundation
import Tailor

/// What the demo minimises — one row of the forgetting table each:
/// - `ce`: the task's next-token cross-entropy alone;
/// - `ewc`: cross-entropy + elastic weight consolidation, with the Fisher information estimated
///   on the general text before training (parameters that matter for general text stay close);
/// - `kl-base`: cross-entropy + KL distillation to the frozen base (the same weights with the
///   adapter switched off) on the task's own batches.
enum DemoObjective: String, CaseIterable, ExpressibleByArgument {
    case ce
    case ewc
    case klBase = "kl-base"
}

/// The general text the demo measures forgetting on.
struct GeneralText {
    /// Where it was read from.
    let path: String
    let text: String
    /// Tokens per scored window (the requested window, capped at the model's context).
    let window: Int

    init(path: String, window: Int, model: any CausalLanguageModel) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DemoError("no general-text file at \(path)") }
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DemoError("cannot read \(path) as UTF-8 text: \(error.localizedDescription)")
        }
        self.path = path
        self.window = min(window, model.description.maxPositions)
    }

    /// Teacher-forced scores of `model` on the text.
    func score(_ model: any CausalLanguageModel, tokenizer: any Tokenizer, label: String) throws -> TeacherForcedScores {
        var bar: ProgressBar?
        return try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: window, batchSize: 4) { done, total in
            if bar == nil { bar = ProgressBar(total: total, label: label) }
            bar?.update(done)
        }
    }

    /// The text's first `count` windows, one per batch (the reference data of the Fisher estimate).
    func windows(tokenizer: any Tokenizer, count: Int) throws -> [TrainingBatch] {
        Array(try TextWindows.batcher(text: text, tokenizer: tokenizer, length: window, batchSize: 1).batches(epoch: 0).prefix(count))
    }
}

extension DemoObjective {
    /// The objective for `model` after its adapter is applied (EWC's Fisher covers exactly the
    /// trainable parameters).
    func build(model: any CausalLanguageModel, tokenizer: any Tokenizer, general: GeneralText, ewcLambda: Float,
               ewcBatches: Int, klWeight: Float) throws -> any TrainingObjective {
        switch self {
        case .ce:
            return CrossEntropyObjective()
        case .ewc:
            let reference = try general.windows(tokenizer: tokenizer, count: ewcBatches)
            log("Estimating the Fisher information on \(reference.count) windows of \(general.window) tokens of \(general.path)…")
            let information = try FisherInformation.estimate(model: model, batches: reference)
            let values = information.fisher.values.reduce(into: (sum: 0.0, count: 0)) { acc, f in
                acc.sum += f.scalars.reduce(0.0) { $0 + Double($1) }
                acc.count += f.count
            }
            log(String(format: "Fisher: mean %.3e over %d parameters; EWC λ = %g", values.sum / Double(max(1, values.count)),
                       values.count, Double(ewcLambda)))
            return try WeightedObjective([(1, CrossEntropyObjective()), (1, EWCObjective(information: information, lambda: ewcLambda))])
        case .klBase:
            return try WeightedObjective([(1, CrossEntropyObjective()), (klWeight, DistillationObjective(teacher: .base))])
        }
    }
}
