import Model
import Tensor

/// The model's `prompt_encoder`: named adapters of learned virtual positions — prompt tuning's
/// input embeddings or prefix tuning's per-layer keys and values — of which one (or none) is active.
public final class PromptEncoder: SequencePrefix, MethodAdapterLayer {
    /// What one adapter learns.
    public enum Content {
        /// Prompt tuning: embeddings [P, C] put before the token embeddings.
        case embeddings(Parameter)
        /// Prefix tuning: keys and values for every layer, [P, L·2·G·D], PEFT's `prompt_embeddings`.
        case keyValueTable(Parameter)
        /// Prefix tuning with `prefix_projection` while training: embeddings [P, G·D] through
        /// Linear(G·D, H) → tanh → Linear(H, L·2·G·D).
        case projected(embedding: Parameter, hidden: Linear, output: Linear)
    }

    /// One adapter.
    public struct Adapter {
        /// Number of virtual positions P.
        public let length: Int
        /// The learned tensors.
        public let content: Content
        /// The settings it was made with.
        public let configuration: any AdapterMethod
    }

    /// Adapters by name.
    public private(set) var adapters: [String: Adapter] = [:]
    /// The adapter applied under `.active` routing, if any.
    public private(set) var activeAdapter: String?

    /// An encoder with no adapters yet.
    public init() {}

    public var wrapped: (any Module)? { nil }
    public var adapterNames: [String] { adapters.keys.sorted() }

    public var localParameters: [(name: String, parameter: Parameter)] { adapterNames.flatMap { parameters(ofAdapter: $0) } }

    public func parameters(ofAdapter name: String) -> [(name: String, parameter: Parameter)] {
        switch adapters[name]?.content {
        case .embeddings(let p)?, .keyValueTable(let p)?: return [("\(name).embedding.weight", p)]
        case .projected(let e, let hidden, let output)?:
            return [("\(name).embedding.weight", e)]
                + hidden.namedParameters(prefix: "\(name).transform.0.") + output.namedParameters(prefix: "\(name).transform.2.")
        case nil: return []
        }
    }

    public func configuration(ofAdapter name: String) -> (any AdapterMethod)? { adapters[name]?.configuration }

    /// Installs adapter `name`.
    public func setAdapter(_ name: String, _ adapter: Adapter) { adapters[name] = adapter }

    public func removeAdapter(_ name: String) throws {
        adapters[name] = nil
        if activeAdapter == name { activeAdapter = nil }
    }

    public func setActiveAdapter(_ name: String?) throws {
        if let name, adapters[name] == nil { throw AdapterError.adapterName("no adapter named '\(name)'") }
        activeAdapter = name
    }

    /// The adapter's values as stored in PEFT's file (`prompt_embeddings`): the embeddings, or the
    /// key/value table (computed through the projection when there is one).
    public func savedTable(of name: String) -> Tensor? {
        guard let ad = adapters[name] else { return nil }
        return GradientMode.withoutGradients { table(ad) }
    }

    public func resolve(batch: Int, model: ModelDescription) throws -> ResolvedPrefix? {
        let name: String?
        switch AdapterRouting.selection {
        case .active: name = activeAdapter
        case .base: name = nil
        case .perRow(let names):
            guard Set(names).count <= 1 else {
                throw AdapterError.unsupported("different prompt-learning adapters (or none) for rows of one batch: \(names)")
            }
            name = names.first ?? nil
        }
        guard let name, let ad = adapters[name] else { return nil }
        let t = table(ad)
        switch ad.content {
        case .embeddings:
            return ResolvedPrefix(length: ad.length, content: .embeddings(Self.repeated(t.reshaped([1, ad.length, t.shape[1]]), batch)))
        case .keyValueTable, .projected:
            let (layers, g, d) = (model.layerCount, model.kvHeadCount, model.headDimension)
            guard t.shape == [ad.length, layers * 2 * g * d] else {
                throw AdapterError.incompatibleAdapter("prefix table \(t.shape) does not fit \(layers) layers of \(g)x\(d) keys")
            }
            let parts = t.reshaped([ad.length, layers * 2, g * d]).split(axis: 1, sizes: Array(repeating: 1, count: layers * 2))
                .map { Self.repeated($0.reshaped([1, ad.length, g, d]), batch) }
            return ResolvedPrefix(length: ad.length, content: .keyValues((0..<layers).map { (parts[2 * $0], parts[2 * $0 + 1]) }))
        }
    }

    private func table(_ ad: Adapter) -> Tensor {
        switch ad.content {
        case .embeddings(let p), .keyValueTable(let p): return p.tensor
        case .projected(let e, let hidden, let output): return output(hidden(e.tensor).tanh())
        }
    }

    /// x [1, …] repeated `count` times along the leading axis.
    private static func repeated(_ x: Tensor, _ count: Int) -> Tensor {
        count == 1 ? x : Tensor.concat(Array(repeating: x, count: count), axis: 0)
    }
}

extension CausalLanguageModel {
    /// The model's prompt encoder, created in the `prompt_encoder` slot if there is none.
    func promptEncoder() throws -> PromptEncoder {
        if let existing = sequencePrefix as? PromptEncoder { return existing }
        guard sequencePrefix == nil else {
            throw AdapterError.unsupported("the model's prompt_encoder slot holds a \(type(of: sequencePrefix!))")
        }
        let encoder = PromptEncoder()
        sequencePrefix = encoder
        return encoder
    }
}
