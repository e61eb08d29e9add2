import ArgumentParser
import Foundation
import Tailor

/// The training objective of `tailor finetune`: the `objective` section of a config file, with
/// the objective flags applied on top.
///
/// ```json
/// "objective": {"terms": ["ce", "aux", "kl"], "weights": [0.6, 0.3, 0.1], "teacher": "base",
///               "temperature": 2, "auxData": "domain.jsonl"}
/// ```
/// Terms: `ce` (task cross-entropy), `kl` (distillation from `teacher`: "base" — the frozen base
/// with the adapter bypassed — or a model path), `ewc` (Fisher estimated on `ewcData`, or loaded
/// from `ewcFile`), `l2sp` (distance to the start point), `aux` (cross-entropy on `auxData`).
struct ObjectiveSpec: Codable, Equatable {
    var terms = ["ce"]
    /// One weight per term (default: all 1).
    var weights: [Float]?
    var teacher = "base"
    var temperature: Float = 1
    var direction = KLDirection.forward
    var topK: Int?
    var ewcData: String?
    var ewcFile: String?
    /// Where to save an estimated Fisher (to reuse with `ewcFile`).
    var ewcSave: String?
    var ewcBatches = 16
    var ewcLambda: Float = 1
    var l2spLambda: Float = 0.01
    var auxData: String?

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ObjectiveSpec()
        terms = try c.decodeIfPresent([String].self, forKey: .terms) ?? d.terms
        weights = try c.decodeIfPresent([Float].self, forKey: .weights)
        teacher = try c.decodeIfPresent(String.self, forKey: .teacher) ?? d.teacher
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        direction = try c.decodeIfPresent(KLDirection.self, forKey: .direction) ?? d.direction
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        ewcData = try c.decodeIfPresent(String.self, forKey: .ewcData)
        ewcFile = try c.decodeIfPresent(String.self, forKey: .ewcFile)
        ewcSave = try c.decodeIfPresent(String.self, forKey: .ewcSave)
        ewcBatches = try c.decodeIfPresent(Int.self, forKey: .ewcBatches) ?? d.ewcBatches
        ewcLambda = try c.decodeIfPresent(Float.self, forKey: .ewcLambda) ?? d.ewcLambda
        l2spLambda = try c.decodeIfPresent(Float.self, forKey: .l2spLambda) ?? d.l2spLambda
        auxData = try c.decodeIfPresent(String.self, forKey: .auxData)
    }

    static let knownTerms = ["ce", "kl", "ewc", "l2sp", "aux"]

    /// Checks term names, weights and the data each term needs.
    func validate() throws {
        guard !terms.isEmpty else { throw CLIError("the objective needs at least one term") }
        if let bad = terms.first(where: { !Self.knownTerms.contains($0) }) {
            throw CLIError("unknown objective term \"\(bad)\" (known: \(Self.knownTerms.joined(separator: ", ")))")
        }
        if Set(terms).count != terms.count { throw CLIError("objective terms must be distinct: \(terms.joined(separator: ","))") }
        if let weights, weights.count != terms.count {
            throw CLIError("\(weights.count) objective weights for \(terms.count) terms (\(terms.joined(separator: ",")))")
        }
        if terms.contains("ewc"), ewcData == nil, ewcFile == nil { throw CLIError("the ewc term needs --ewc-data or --ewc-file") }
        if terms.contains("aux"), auxData == nil { throw CLIError("the aux term needs --aux-data") }
        guard ewcBatches > 0 else { throw CLIError("--ewc-batches must be positive") }
    }

    /// Builds the objective for `model` (after its adapter is applied, so EWC sees the trainable parameters).
    func build(model: any CausalLanguageModel, tokenizer: any Tokenizer, data: DataConfig, padID: Int,
               seed: UInt64, log: (String) -> Void) throws -> any TrainingObjective {
        try validate()
        func batches(_ path: String, shuffle: Bool) throws -> PipelineBatches {
            var config = data
            config.validationFraction = 0
            let loaded = try LoadedData(path: path, tokenizer: tokenizer, config: config)
            return try PipelineBatches(loaded.prepared.train, config: config, padID: padID, shuffle: shuffle)
        }
        var objectives: [any TrainingObjective] = []
        for term in terms {
            switch term {
            case "kl":
                let source: DistillationTeacher
                if teacher == "base" {
                    source = .base
                } else {
                    log("Loading teacher \(teacher)…")
                    source = .model(try ModelOptions.parse(["--model", teacher]).load().model)
                }
                objectives.append(DistillationObjective(teacher: source, temperature: temperature, direction: direction, topK: topK))
            case "ewc":
                let information: FisherInformation
                if let ewcFile {
                    information = try FisherInformation(contentsOf: URL(fileURLWithPath: ewcFile))
                } else if let ewcData {
                    let reference = Array(try batches(ewcData, shuffle: false).batches(epoch: 0, seed: seed).prefix(ewcBatches))
                    log("Estimating the Fisher information on \(reference.count) batches of \(ewcData)…")
                    information = try FisherInformation.estimate(model: model, batches: reference)
                    if let ewcSave { try information.save(to: URL(fileURLWithPath: ewcSave)) }
                } else {
                    throw CLIError("the ewc term needs --ewc-data or --ewc-file")
                }
                objectives.append(EWCObjective(information: information, lambda: ewcLambda))
            case "l2sp": objectives.append(L2SPObjective(lambda: l2spLambda))
            case "aux":
                guard let auxData else { throw CLIError("the aux term needs --aux-data") }
                objectives.append(AuxiliaryCrossEntropyObjective(data: try batches(auxData, shuffle: true), seed: seed))
            default: objectives.append(CrossEntropyObjective())
            }
        }
        if objectives.count == 1, weights == nil, let only = objectives.first { return only }
        let w = weights ?? Array(repeating: 1, count: objectives.count)
        return try WeightedObjective(Array(zip(w, objectives)).map { (weight: $0.0, objective: $0.1) })
    }
}

/// Objective flags of `tailor finetune`; each overrides the matching `objective` config key.
struct ObjectiveFlags: ParsableArguments {
    @Option(help: "Objective terms, comma-separated: ce, kl, ewc, l2sp, aux (default ce).") var objective: String?
    @Option(help: "One weight per objective term, comma-separated (default: all 1).") var objectiveWeights: String?
    @Option(help: "Distillation teacher: base (the frozen base, adapter bypassed) or a model path (default base).") var teacher: String?
    @Option(help: "Distillation temperature; the KL is scaled by T² (default 1).") var klTemperature: Float?
    @Option(help: "KL direction: forward (teacher‖student) or reverse (default forward).") var klDirection: KLDirection?
    @Option(help: "Keep only the teacher's top-k logits per position.") var klTopK: Int?
    @Option(help: "Reference data (JSONL) for the EWC Fisher information.") var ewcData: String?
    @Option(help: "Load the EWC Fisher information and anchor from this safetensors file.") var ewcFile: String?
    @Option(help: "Save the estimated Fisher information and anchor to this safetensors file.") var ewcSave: String?
    @Option(help: "Reference batches for the Fisher estimate (default 16).") var ewcBatches: Int?
    @Option(help: "EWC strength λ (default 1).") var ewcLambda: Float?
    @Option(help: "L2-SP strength λ (default 0.01).") var l2spLambda: Float?
    @Option(help: "Auxiliary data (JSONL) for the aux cross-entropy term.") var auxData: String?

    func applied(to base: ObjectiveSpec) throws -> ObjectiveSpec {
        var s = base
        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let objective { s.terms = list(objective) }
        if let objectiveWeights {
            s.weights = try list(objectiveWeights).map {
                guard let w = Float($0) else { throw CLIError("--objective-weights: \"\($0)\" is not a number") }
                return w
            }
        }
        if let teacher { s.teacher = teacher }
        if let klTemperature { s.temperature = klTemperature }
        if let klDirection { s.direction = klDirection }
        if let klTopK { s.topK = klTopK }
        if let ewcData { s.ewcData = ewcData }
        if let ewcFile { s.ewcFile = ewcFile }
        if let ewcSave { s.ewcSave = ewcSave }
        if let ewcBatches { s.ewcBatches = ewcBatches }
        if let ewcLambda { s.ewcLambda = ewcLambda }
        if let l2spLambda { s.l2spLambda = l2spLambda }
        if let auxData { s.auxData = auxData }
        try s.validate()
        return s
    }
}

extension KLDirection: ExpressibleByArgument {}
