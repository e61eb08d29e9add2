import Foundation
import Model
import Tensor

/// Which of the base model's own weights train: full fine-tuning, or layer freezing combined with an
/// adapter ("freeze the bottom 70 %, LoRA on attention in the middle, train the top blocks fully").
///
/// ``apply(to:)`` sets only the base parameters' trainability; adapter parameters keep theirs. A
/// parameter trains when it passes every rule given: inside the selected blocks (parameters
/// outside the block list — embeddings, final norm, head — count as below the first block for
/// `freezeBottomFraction` and are frozen by `trainTopBlocks`, unless `trainPatterns` names them),
/// matched by `trainPatterns` (when given), and matched by no `freezePatterns`.
public struct TrainableLayers: Sendable, Codable, Equatable {
    /// Freeze the first ⌊f·L⌋ of L blocks (and the embeddings); nil: none by fraction.
    public var freezeBottomFraction: Double?
    /// Train only the last n blocks; nil: no limit.
    public var trainTopBlocks: Int?
    /// Regular expressions over parameter paths; when given, only matching parameters train
    /// (besides the block rules).
    public var trainPatterns: [String]?
    /// Regular expressions over parameter paths that never train.
    public var freezePatterns: [String]

    /// Every weight of the model trains (full fine-tuning).
    public static let all = TrainableLayers()

    /// Rules; with none given, every base parameter trains.
    public init(freezeBottomFraction: Double? = nil, trainTopBlocks: Int? = nil, trainPatterns: [String]? = nil, freezePatterns: [String] = []) {
        self.freezeBottomFraction = freezeBottomFraction
        self.trainTopBlocks = trainTopBlocks
        self.trainPatterns = trainPatterns
        self.freezePatterns = freezePatterns
    }

    enum CodingKeys: String, CodingKey {
        case freezeBottomFraction = "freeze_bottom_fraction", trainTopBlocks = "train_top_blocks"
        case trainPatterns = "train_patterns", freezePatterns = "freeze_patterns"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(freezeBottomFraction: try c.decodeIfPresent(Double.self, forKey: .freezeBottomFraction),
                  trainTopBlocks: try c.decodeIfPresent(Int.self, forKey: .trainTopBlocks),
                  trainPatterns: try c.decodeIfPresent([String].self, forKey: .trainPatterns),
                  freezePatterns: try c.decodeIfPresent([String].self, forKey: .freezePatterns) ?? [])
    }

    /// Checks the rules.
    public func validate() throws {
        if let f = freezeBottomFraction, !(f >= 0 && f <= 1) {
            throw AdapterError.invalidConfiguration("freeze_bottom_fraction must be in [0, 1], got \(f)")
        }
        if let n = trainTopBlocks, n < 0 { throw AdapterError.invalidConfiguration("train_top_blocks must be ≥ 0, got \(n)") }
        for p in (trainPatterns ?? []) + freezePatterns where (try? NSRegularExpression(pattern: p)) == nil {
            throw AdapterError.invalidConfiguration("not a valid regular expression: \(p)")
        }
    }

    /// Sets which base parameters of `model` train; returns the number of base scalars that do.
    /// Quantized weights (no Float32 parameter) stay frozen.
    @discardableResult
    public func apply(to model: any CausalLanguageModel) throws -> Int {
        try validate()
        let adapterParameters = Set(model.adapterLayers().flatMap { _, layer in
            layer.adapterNames.flatMap { layer.parameters(ofAdapter: $0).map { ObjectIdentifier($0.parameter) } }
        })
        let blocks = model.description.layerCount
        let firstTrained = max(freezeBottomFraction.map { Int(($0 * Double(blocks)).rounded(.down)) } ?? 0,
                               trainTopBlocks.map { blocks - min($0, blocks) } ?? 0)
        let train = (trainPatterns ?? []).compactMap { try? NSRegularExpression(pattern: $0) }
        let freeze = freezePatterns.compactMap { try? NSRegularExpression(pattern: $0) }
        func matches(_ res: [NSRegularExpression], _ path: String) -> Bool {
            res.contains { $0.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil }
        }
        var count = 0
        for (path, p) in model.namedParameters() where !adapterParameters.contains(ObjectIdentifier(p)) {
            var on: Bool
            if let block = model.blockIndex(of: path) {
                on = block >= firstTrained
            } else {
                // Embeddings sit below the blocks; the final norm and head above them.
                let belowBlocks = path.contains("embed") || path.contains("wte") || path.contains("wpe")
                on = belowBlocks ? firstTrained == 0 : trainTopBlocks == nil
            }
            if trainPatterns != nil { on = on && matches(train, path) || (model.blockIndex(of: path) == nil && matches(train, path)) }
            if matches(freeze, path) { on = false }
            p.isTrainable = on
            if on { count += p.value.count }
        }
        return count
    }
}
