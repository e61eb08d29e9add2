import Foundation
import Tailor

/// Teacher-forced perplexity on a plain-text file of general prose, to measure forgetting: the
/// model as loaded and, when an adapter is applied, the same weights with the adapter switched
/// off (the base), so one run shows what the adapter costs on general text.
struct GeneralTextScores {
    /// The file scored.
    let path: String
    /// The model as loaded (with its adapter, if any).
    let model: TeacherForcedScores
    /// The base with every adapter bypassed; nil without an adapter.
    let base: TeacherForcedScores?

    /// Scores the text at `path` in windows of `window` tokens (capped at the model's context).
    static func measure(path: String, model: any CausalLanguageModel, tokenizer: any Tokenizer, window: Int, batchSize: Int,
                        comparingBase: Bool) throws -> GeneralTextScores {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("no general-text file at \(path)") }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError("cannot read \(path) as UTF-8 text: \(error.localizedDescription)")
        }
        func score(_ label: String) throws -> TeacherForcedScores {
            var bar: ProgressBar?
            return try TeacherForcedEvaluator.evaluate(model, text: text, tokenizer: tokenizer, window: window, batchSize: batchSize) { done, total in
                if bar == nil { bar = ProgressBar(total: total, label: label) }
                bar?.update(done)
            }
        }
        let adapted = try score("General   ")
        var base: TeacherForcedScores?
        if comparingBase { base = try AdapterRouting.$selection.withValue(.base) { try score("Base      ") } }
        return GeneralTextScores(path: path, model: adapted, base: base)
    }

    /// Relative change of the perplexity against the base, in percent; nil without a base.
    var perplexityChangePercent: Double? { base.map { 100 * (model.perplexity / $0.perplexity - 1) } }

    /// The scores as JSON fields (`general_*`).
    var json: [String: Any] {
        var object: [String: Any] = ["general_text": path, "general_tokens": model.targetTokens, "general_loss": model.loss,
                                     "general_perplexity": model.perplexity]
        if let base {
            object["general_base_loss"] = base.loss
            object["general_base_perplexity"] = base.perplexity
        }
        return object
    }

    /// Table lines.
    var lines: [String] {
        var line = String(format: "  general ppl      %.4f", model.perplexity)
            + "  (\(model.targetTokens) tokens of \(URL(fileURLWithPath: path).lastPathComponent))"
        if let base, let change = perplexityChangePercent {
            line += String(format: "; base %.4f, %+.2f%%", base.perplexity, change)
        }
        return [line]
    }
}
