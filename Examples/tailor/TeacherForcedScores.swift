import Foundation
import Tailor

/// Teacher-forced scores of a model on tokenized data: mean loss per target token, perplexity
/// and next-token accuracy.
///
/// The computation is `Trainer.evaluate`'s (summed token cross-entropy over every target, argmax
/// accuracy), done here because a trainer needs trainable parameters and `eval` scores frozen
/// models.
struct TeacherForcedScores: Codable {
    /// Mean negative log-likelihood per target token (nats).
    var loss: Double
    /// exp(loss).
    var perplexity: Double
    /// Share of targets the argmax predicts.
    var tokenAccuracy: Double
    /// Number of target tokens scored.
    var targetTokens: Int

    /// Scores every batch of `data` (epoch-0 order), drawing progress on `bar`.
    init(model: any CausalLanguageModel, data: PipelineBatches, bar: ProgressBar? = nil) throws {
        var meter = PerplexityMeter()
        var correct = 0
        let batches = data.batches(epoch: 0, seed: 0)
        try GradientMode.withoutGradients {
            for (index, batch) in batches.enumerated() {
                let rows = batch.labels.indices.filter { batch.labels[$0] != TokenizedExample.ignoreIndex }
                guard !rows.isEmpty else { continue }
                let targets = rows.map { batch.labels[$0] }
                let logits = try model.forward(ModelInput(tokens: batch.inputIDs, batchSize: batch.batchSize, logits: .rows(rows)),
                                               cache: nil)
                let nll = Tensor.crossEntropy(logits: logits, targets: targets, normalizer: 1).item
                meter.add(sumNLL: Double(nll), tokens: rows.count)
                let predicted = logits.withUnsafeBufferPointer { TokenAccuracy.argmax(logits: $0, vocabularySize: logits.shape[1]) }
                correct += zip(predicted, targets).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
                bar?.update(index + 1)
            }
        }
        guard let mean = meter.meanNLL else { throw CLIError("the data has no target tokens to score") }
        loss = mean
        perplexity = PerplexityMeter.perplexity(meanNLL: mean)
        tokenAccuracy = Double(correct) / Double(meter.tokenCount)
        targetTokens = meter.tokenCount
    }
}
