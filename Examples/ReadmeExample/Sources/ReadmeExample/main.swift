// Usage: ReadmeExample MODEL TRAIN.jsonl EVAL.jsonl ADAPTER-OUTPUT
// (Scripts/readme-example.sh passes the tiny Qwen2 and the CLI test data.)
import Foundation
import Tailor

let arguments = CommandLine.arguments
guard arguments.count == 5 else {
    print("usage: ReadmeExample MODEL TRAIN.jsonl EVAL.jsonl ADAPTER-OUTPUT")
    exit(2)
}
let (modelPath, trainPath, evalPath, adapterPath) = (arguments[1], arguments[2], arguments[3], arguments[4])

// --- README example begins ---
let (model, tokenizer) = try LanguageModel.load(from: URL(fileURLWithPath: modelPath))

// Data: JSON Lines (alpaca, chat, completion or text records) → tokenized batches.
let data = DataConfig(maxSequenceLength: 256, validationFraction: 0)
let padID = tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0
let train = try DataPipeline.prepare(contentsOf: URL(fileURLWithPath: trainPath), tokenizer: tokenizer, config: data)
let eval = try DataPipeline.prepare(contentsOf: URL(fileURLWithPath: evalPath), tokenizer: tokenizer, config: data)
let trainBatches = try PipelineBatches(train.train, config: data, padID: padID, shuffle: true)
let evalBatches = try PipelineBatches(eval.train, config: data, padID: padID, shuffle: false)

// Fine-tune: wrap q/k/v/o with LoRA, train, save the adapter in PEFT format.
let loraConfig = LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["q_proj", "k_proj", "v_proj", "o_proj"]))
try Adapters.apply(loraConfig, to: model)
let trainer = try Trainer(model: model, configuration: TrainingConfiguration(epochs: 2, learningRate: 2e-3, warmupSteps: 2))
let history = try trainer.fit(train: trainBatches, eval: evalBatches) { event in
    if case .step(let s) = event { print(s.step, s.loss, s.tokensPerSecond) }
    return .proceed
}
try Adapters.save(of: model, to: URL(fileURLWithPath: adapterPath))

// Generate.
let generator = Generator(model: model, tokenizer: tokenizer)
let result = try generator.generate(prompt: "def fibonacci(n):", config: .greedy)
print(result.text)
// --- README example ends ---

// Checks that make the script fail when the flow stops working.
guard let first = history.steps.first?.loss, let last = history.steps.last?.loss, last.isFinite, last < first else {
    print("error: training did not lower the loss: \(history.steps.map(\.loss))")
    exit(1)
}
guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: adapterPath).appendingPathComponent("adapter_config.json").path) else {
    print("error: no adapter was saved")
    exit(1)
}
print("ok: loss \(first) → \(last) over \(history.steps.count) steps, adapter in \(adapterPath)")
