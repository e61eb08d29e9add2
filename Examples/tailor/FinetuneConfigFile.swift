import Foundation
import Tailor

/// A `tailor finetune --config` file: paths plus three optional sections, each a Tailor or PEFT type.
///
/// ```json
/// {
///   "model": "path/to/model.gguf", "trainFile": "train.jsonl", "evalFile": "valid.jsonl", "output": "my-adapter",
///   "training": {"epochs": 2, "learningRate": 2e-4, "warmupSteps": 10, "decay": "cosine", "optimizer": "adamW"},
///   "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"]},
///   "data": {"maxSequenceLength": 512, "batching": {"batchSize": 4}},
///   "objective": {"terms": ["ce", "kl"], "weights": [0.9, 0.1], "teacher": "base", "temperature": 2}
/// }
/// ```
/// - `training`: any subset of `TrainingConfiguration`'s keys (the rest keep their defaults);
///   `optimizer` is `"adamW"`, `"adamW8bit"`, `"sgd"` or an object such as `{"adamW": {"weightDecay": 0}}`.
/// - `method`: `lora`, `dora`, `ia3`, `prefix`, `prompt`, `bottleneck` or `full` (as `--method`).
/// - `lora`: PEFT's `adapter_config.json` keys (`LoRAConfiguration`).
/// - `adapter`: any method's `adapter_config.json` keys; its `peft_type` picks the method.
/// - `freezing`: `TrainableLayers`' keys (`freeze_bottom_fraction`, `train_top_blocks`,
///   `train_patterns`, `freeze_patterns`) — which base weights train.
/// - `data`: `DataConfig`'s keys; `template` may also be a name as for `--template`.
/// - `objective`: `ObjectiveSpec`'s keys (terms, weights, teacher, EWC/L2-SP/auxiliary settings).
/// Paths are relative to the working directory. Unknown keys are errors (except in `lora`, where
/// PEFT's many other keys are accepted and ignored).
struct FinetuneConfigFile {
    var model: String?
    var trainFile: String?
    var evalFile: String?
    var output: String?
    var training = TrainingConfiguration()
    var lora: LoRAConfiguration?
    var method: FinetuneMethod?
    var adapter: [String: Any]?
    var freezing: TrainableLayers?
    var data = DataConfig()
    var objective = ObjectiveSpec()
    /// Whether `data.validationFraction` was given (otherwise nothing is held out of the training file).
    var setsValidationFraction = false

    init() {}

    /// Reads and checks the file at `path`.
    init(path: String) throws {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read config file \(path)") }
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
                throw CLIError("config file \(path): the top level must be a JSON object")
            }
            root = object
        } catch let error as CLIError { throw error } catch {
            throw CLIError("config file \(path) is not valid JSON")
        }
        func fail(_ message: String) -> CLIError { CLIError("config file \(path): \(message)") }
        let known = ["model", "trainFile", "evalFile", "output", "method", "training", "lora", "adapter", "freezing", "data", "objective"]
        if let key = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail("unknown key \"\(key)\" (known: \(known.joined(separator: ", ")))")
        }
        func string(_ key: String) throws -> String? {
            guard let value = root[key], !(value is NSNull) else { return nil }
            guard let s = value as? String else { throw fail("\"\(key)\" must be a string") }
            return s
        }
        func section(_ key: String) throws -> [String: Any]? {
            guard let value = root[key], !(value is NSNull) else { return nil }
            guard let object = value as? [String: Any] else { throw fail("\"\(key)\" must be an object") }
            return object
        }
        model = try string("model")
        trainFile = try string("trainFile")
        evalFile = try string("evalFile")
        output = try string("output")
        if let name = try string("method") {
            guard let m = FinetuneMethod(rawValue: name) else {
                throw fail("\"method\" must be one of \(FinetuneMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            method = m
        }
        do {
            if let t = try section("training") { training = try Self.training(from: t) }
            if let o = try section("objective") {
                try Self.checkKeys(o, of: ObjectiveSpec(), section: "objective")
                objective = try Self.decode(ObjectiveSpec.self, from: o, section: "objective")
            }
            if let l = try section("lora") { lora = try Self.decode(LoRAConfiguration.self, from: l, section: "lora") }
            adapter = try section("adapter")
            if let f = try section("freezing") { freezing = try Self.decode(TrainableLayers.self, from: f, section: "freezing") }
            if let d = try section("data") {
                try Self.checkKeys(d, of: DataConfig(), section: "data")
                if let b = d["batching"] as? [String: Any] { try Self.checkKeys(b, of: BatchingOptions(), section: "data.batching") }
                if let c = d["cleaning"] as? [String: Any] { try Self.checkKeys(c, of: CleaningOptions(), section: "data.cleaning") }
                setsValidationFraction = d["validationFraction"] != nil
                var d = d
                var template: ChatTemplate?
                if let name = d["template"] as? String {
                    guard let choice = TemplateChoice(rawValue: name) else {
                        throw CLIError("\"data.template\" must be one of \(TemplateChoice.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    template = choice.template
                    d["template"] = nil
                }
                data = try Self.decode(DataConfig.self, from: d, section: "data")
                if let template { data.template = template }
            }
        } catch let error as CLIError {
            throw fail(error.description)
        }
    }

    /// A `TrainingConfiguration` from a partial object: given keys replace the defaults.
    static func training(from object: [String: Any]) throws -> TrainingConfiguration {
        try checkKeys(object, of: TrainingConfiguration(), section: "training")
        var merged = try jsonObject(TrainingConfiguration())
        for (key, value) in object { merged[key] = value }
        if let optimizer = object["optimizer"] { merged["optimizer"] = try optimizerObject(optimizer) }
        return try decode(TrainingConfiguration.self, from: merged, section: "training")
    }

    /// `"adamW"`, `"sgd"` or a one-key object with some of the optimizer's settings, completed with defaults.
    static func optimizerObject(_ value: Any) throws -> [String: Any] {
        let defaults: [String: OptimizerKind] = ["adamW": .adamW(), "adamW8bit": .adamW8bit(), "sgd": .sgd()]
        func complete(_ name: String, _ settings: [String: Any]) throws -> [String: Any] {
            guard let kind = defaults.first(where: { $0.key.lowercased() == name.lowercased() }) else {
                throw CLIError("unknown optimizer \"\(name)\" (adamW, adamW8bit or sgd)")
            }
            var full = try jsonObject(kind.value)[kind.key] as? [String: Any] ?? [:]
            if let key = settings.keys.sorted().first(where: { full[$0] == nil }) {
                throw CLIError("unknown \(kind.key) setting \"\(key)\" (known: \(full.keys.sorted().joined(separator: ", ")))")
            }
            for (k, v) in settings { full[k] = v }
            return [kind.key: full]
        }
        if let name = value as? String { return try complete(name, [:]) }
        if let object = value as? [String: Any], object.count == 1, let (name, settings) = object.first,
           let settings = settings as? [String: Any] {
            return try complete(name, settings)
        }
        throw CLIError("\"training.optimizer\" must be \"adamW\", \"adamW8bit\", \"sgd\" or an object like {\"adamW\": {\"weightDecay\": 0}}")
    }

    /// Rejects keys that are not stored properties of `value`'s type (its coding keys).
    static func checkKeys(_ object: [String: Any], of value: Any, section: String) throws {
        let known = Set(Mirror(reflecting: value).children.compactMap(\.label))
        if let key = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw CLIError("unknown key \"\(section).\(key)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    static func jsonObject<T: Encodable>(_ value: T) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any] ?? [:]
    }

    /// Decodes an adapter section as `type`'s configuration.
    static func decodeMethod(_ type: any AdapterMethod.Type, from object: [String: Any]) throws -> any AdapterMethod {
        do { return try type.decodeConfiguration(from: JSONSerialization.data(withJSONObject: object)) } catch let error as DecodingError {
            throw CLIError(describe(error, section: "adapter"))
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from object: [String: Any], section: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: JSONSerialization.data(withJSONObject: object))
        } catch let error as DecodingError {
            throw CLIError(describe(error, section: section))
        } catch {
            throw CLIError("\"\(section)\": \(error)")
        }
    }

    /// A one-line account of a decoding error, naming the key path.
    static func describe(_ error: DecodingError, section: String) -> String {
        func path(_ context: DecodingError.Context, _ extra: CodingKey? = nil) -> String {
            let keys = context.codingPath + (extra.map { [$0] } ?? [])
            return "\"" + ([section] + keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }).joined(separator: ".") + "\""
        }
        switch error {
        case .typeMismatch(let type, let c): return "\(path(c)) must be \(typeName(type))"
        case .valueNotFound(let type, let c): return "\(path(c)) must be \(typeName(type)), not null"
        case .keyNotFound(let key, let c): return "\(path(c, key)) is missing"
        case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "\"\(section)\": \(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default: return "a valid \(type)"
        }
    }
}
