import Foundation
import Tensor
import Tailor

/// `tailor generate --dump-logits FILE`: the prompt's logits at every position, so that other
/// implementations can be compared with Tailor (see `Tools/check_merged_model.py`).
enum LogitsDump {
    /// Runs `tokens` through `model` in one pass and writes a safetensors file holding the tensor
    /// `logits` [tokens, vocabulary] (F32) and the metadata `input_ids` (a JSON array).
    static func write(model: any CausalLanguageModel, tokens: [Int], to url: URL) throws {
        guard !tokens.isEmpty else { throw CLIError("--dump-logits needs a non-empty prompt") }
        let logits = try GradientMode.withoutGradients {
            try model.forward(ModelInput(tokens: tokens), cache: nil)
        }
        let ids = "[" + tokens.map(String.init).joined(separator: ",") + "]"
        try SafetensorsWriter.write(["logits": logits], to: url, metadata: ["input_ids": ids])
    }
}
