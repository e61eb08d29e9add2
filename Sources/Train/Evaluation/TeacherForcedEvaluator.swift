import Model
import Tensor

/// Teacher-forced scores of a model on tokenized data: mean loss per target token, perplexity and
/// next-token (argmax) accuracy.
public struct TeacherForcedScores: Sendable, Codable, Equatable {
    /// Mean negative log-likelihood per target token (nats).
    public var loss: Double
    /// exp(loss).
    public var perplexity: Double
    /// Share of targets the argmax predicts.
    public var tokenAccuracy: Double
    /// Number of target tokens scored.
    public var targetTokens: Int
}

/// Scores any model — frozen or being trained — without gradients; the trainer's evaluation and
/// `tailor eval` both use it.
public enum TeacherForcedEvaluator {
    /// Scores every batch of `data` in epoch-0 order (shuffled with `seed` if the source shuffles).
    /// `progress` is called with (batches done, batches in total). Throws
    /// ``TrainingError/noData(_:)`` when no batch has a target and ``TrainingError/invalidBatch(_:)``
    /// for labels that do not fit the model.
    public static func evaluate(_ model: any CausalLanguageModel, on data: any TrainingBatches, seed: UInt64 = 0,
                                progress: ((Int, Int) -> Void)? = nil) throws -> TeacherForcedScores {
        try scores(of: sums(model, on: data.batches(epoch: 0, seed: seed), progress: progress))
    }

    /// Summed negative log-likelihood, target count and correct argmax predictions over `batches`.
    static func sums(_ model: any CausalLanguageModel, on batches: [TrainingBatch],
                     progress: ((Int, Int) -> Void)? = nil) throws -> (nll: Double, targets: Int, correct: Int) {
        try GradientMode.withoutGradients {
            var meter = PerplexityMeter()
            var correct = 0
            for (index, batch) in batches.enumerated() {
                try Train.validate(batch, vocabularySize: model.description.vocabularySize)
                let (rows, targets) = batch.nextTokenTargets
                if !rows.isEmpty {
                    let logits = try model.forward(batch.modelInput(logits: .rows(rows)), cache: nil)
                    let nll = Tensor.crossEntropy(logits: logits, targets: targets.map { Int32(clamping: $0) }, normalizer: 1).item
                    meter.add(sumNLL: Double(nll), tokens: rows.count)
                    let predicted = logits.withUnsafeBufferPointer { TokenAccuracy.argmax(logits: $0, vocabularySize: logits.shape[1]) }
                    correct += zip(predicted, targets).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
                }
                progress?(index + 1, batches.count)
            }
            return (meter.totalNLL, meter.tokenCount, correct)
        }
    }

    /// The scores from summed counts; throws ``TrainingError/noData(_:)`` without targets.
    static func scores(of sums: (nll: Double, targets: Int, correct: Int)) throws -> TeacherForcedScores {
        guard sums.targets > 0 else { throw TrainingError.noData("the evaluation set has no targets") }
        let mean = sums.nll / Double(sums.targets)
        return TeacherForcedScores(loss: mean, perplexity: PerplexityMeter.perplexity(meanNLL: mean),
                                   tokenAccuracy: Double(sums.correct) / Double(sums.targets), targetTokens: sums.targets)
    }
}

extension TeacherForcedEvaluator {
    /// Scores `model` on plain `text` (general text, to measure forgetting): the text's tokens
    /// are cut into consecutive windows of `window` tokens, capped at the model's context
    /// (``TextWindows``), scored `batchSize` windows at a time. Throws what ``TextWindows`` and
    /// ``evaluate(_:on:seed:progress:)`` throw.
    public static func evaluate(_ model: any CausalLanguageModel, text: String, tokenizer: any Tokenizer, window: Int = 512,
                                batchSize: Int = 4, progress: ((Int, Int) -> Void)? = nil) throws -> TeacherForcedScores {
        let length = min(window, model.description.maxPositions)
        let windows = try TextWindows.batcher(text: text, tokenizer: tokenizer, length: length, batchSize: batchSize)
        return try evaluate(model, on: windows, progress: progress)
    }
}
