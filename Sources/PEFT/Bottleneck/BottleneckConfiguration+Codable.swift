import Foundation

/// Reading and writing the `config` block of AdapterHub's `adapter_config.json`.
///
/// Reading throws ``AdapterError/unsupported(_:)`` for settings Tailor does not implement
/// (gated, PHM/Compacter, invertible and cross adapters, `ln_before`, stochastic depth,
/// `residual_before_ln: "post_add"`, other AdapterHub methods) and for keys `BnConfig` does not have.
/// ``adapterHubJSON`` writes every `BnConfig` key, so AdapterHub reads the block unchanged.
extension BottleneckConfiguration: Codable {
    private struct Key: CodingKey {
        let stringValue: String
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// `BnConfig`'s keys (plus `architecture`, which every AdapterHub configuration may carry).
    static let knownKeys: Set<String> = [
        "architecture", "mh_adapter", "output_adapter", "reduction_factor", "non_linearity", "original_ln_before",
        "original_ln_after", "ln_before", "ln_after", "init_weights", "init_weights_seed", "is_parallel", "scaling",
        "use_gating", "residual_before_ln", "adapter_residual_before_ln", "inv_adapter", "inv_adapter_reduction_factor",
        "cross_adapter", "leave_out", "dropout", "phm_layer", "phm_dim", "factorized_phm_W", "shared_W_phm",
        "shared_phm_rule", "factorized_phm_rule", "phm_c_init", "phm_init_range", "learn_phm",
        "hypercomplex_nonlinearity", "phm_rank", "phm_bias", "stochastic_depth",
    ]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func value<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
            do { return try c.decodeIfPresent(type, forKey: Key(key)) } catch {
                throw AdapterError.invalidConfiguration("'\(key)' is not a \(T.self)")
            }
        }
        func required<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let v = try value(type, key) else { throw AdapterError.invalidConfiguration("'\(key)' is missing") }
            return v
        }
        if let architecture = try value(String.self, "architecture") {
            throw AdapterError.unsupported("AdapterHub method '\(architecture)' (only bottleneck adapters)")
        }
        if let unknown = c.allKeys.map(\.stringValue).sorted().first(where: { !Self.knownKeys.contains($0) }) {
            throw AdapterError.unsupported("unknown setting '\(unknown)' in the adapter configuration")
        }
        for key in ["use_gating", "phm_layer", "ln_before", "cross_adapter"] where try value(Bool.self, key) == true {
            throw AdapterError.unsupported("\(key): true")
        }
        if let inv = try value(String.self, "inv_adapter") { throw AdapterError.unsupported("inv_adapter '\(inv)'") }
        if let depth = try value(Double.self, "stochastic_depth"), depth > 0 {
            throw AdapterError.unsupported("stochastic_depth \(depth)")
        }
        let residualBefore: Bool
        if let text = try? c.decodeIfPresent(String.self, forKey: Key("residual_before_ln")) {
            throw AdapterError.unsupported("residual_before_ln '\(text)'")
        } else {
            residualBefore = try value(Bool.self, "residual_before_ln") ?? true
        }
        self.init(attentionAdapter: try required(Bool.self, "mh_adapter"),
                  outputAdapter: try required(Bool.self, "output_adapter"),
                  reductionFactor: try Self.decodeReductionFactor(c, Key("reduction_factor")),
                  nonLinearity: try required(String.self, "non_linearity"),
                  originalLayerNormBefore: try value(Bool.self, "original_ln_before") ?? false,
                  originalLayerNormAfter: try value(Bool.self, "original_ln_after") ?? true,
                  residualBeforeLayerNorm: residualBefore,
                  layerNormAfter: try value(Bool.self, "ln_after") ?? false,
                  adapterResidualBeforeLayerNorm: try value(Bool.self, "adapter_residual_before_ln") ?? false,
                  scaling: try Self.decodeScaling(c, Key("scaling")),
                  dropout: try value(Float.self, "dropout") ?? 0,
                  initWeights: try value(String.self, "init_weights") ?? "bert",
                  leaveOut: try value([Int].self, "leave_out") ?? [],
                  isParallel: try value(Bool.self, "is_parallel") ?? false)
        try validate()
    }

    private static func decodeReductionFactor(_ c: KeyedDecodingContainer<Key>, _ key: Key) throws -> ReductionFactor {
        if let f = try? c.decode(Double.self, forKey: key) { return .uniform(f) }
        if var map = try? c.decode([String: Double].self, forKey: key) {
            let fallback = map.removeValue(forKey: "default")
            guard map.keys.allSatisfy({ Int($0) != nil }) else {
                throw AdapterError.invalidConfiguration("reduction_factor keys must be layer indices or \"default\"")
            }
            return .perLayer(map, default: fallback)
        }
        throw AdapterError.invalidConfiguration("'reduction_factor' must be a number or a map of layer index to number")
    }

    private static func decodeScaling(_ c: KeyedDecodingContainer<Key>, _ key: Key) throws -> BottleneckScaling {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return .constant(1) }
        if let f = try? c.decode(Float.self, forKey: key) { return .constant(f) }
        switch try? c.decode(String.self, forKey: key) {
        case "learned": return .learned
        case "channel": return .channel
        case let other: throw AdapterError.unsupported("scaling '\(other ?? "?")' (a number, \"learned\" or \"channel\")")
        }
    }

    /// Encodes the `config` block (``adapterHubJSON``); the model facts belong to the file around it.
    public func encode(to encoder: any Encoder) throws { try adapterHubJSON.encode(to: encoder) }

    /// The block as AdapterHub writes it: every `BnConfig` key, unused PHM settings at their defaults.
    public var adapterHubJSON: AdapterHubJSON {
        var o: [String: AdapterHubJSON] = [:]
        o["mh_adapter"] = .bool(attentionAdapter)
        o["output_adapter"] = .bool(outputAdapter)
        switch reductionFactor {
        case .uniform(let f): o["reduction_factor"] = Self.number(f)
        case .perLayer(let map, let fallback):
            var all = map.mapValues(Self.number)
            if let fallback { all["default"] = Self.number(fallback) }
            o["reduction_factor"] = .object(all)
        }
        o["non_linearity"] = .string(nonLinearity)
        o["original_ln_before"] = .bool(originalLayerNormBefore)
        o["original_ln_after"] = .bool(originalLayerNormAfter)
        o["ln_before"] = .bool(false)
        o["ln_after"] = .bool(layerNormAfter)
        o["init_weights"] = .string(initWeights)
        o["init_weights_seed"] = .null
        o["is_parallel"] = .bool(isParallel)
        switch scaling {
        case .constant(let s): o["scaling"] = .double(Double(s))  // AdapterHub requires a float here
        case .learned: o["scaling"] = .string("learned")
        case .channel: o["scaling"] = .string("channel")
        }
        o["use_gating"] = .bool(false)
        o["residual_before_ln"] = .bool(residualBeforeLayerNorm)
        o["adapter_residual_before_ln"] = .bool(adapterResidualBeforeLayerNorm)
        o["inv_adapter"] = .null
        o["inv_adapter_reduction_factor"] = .null
        o["cross_adapter"] = .bool(false)
        o["leave_out"] = .array(leaveOut.map { .int($0) })
        o["dropout"] = .double(Double(dropout))
        o["stochastic_depth"] = .double(0)
        o["phm_layer"] = .bool(false)
        o["phm_dim"] = .int(4)
        o["factorized_phm_W"] = .bool(true)
        o["shared_W_phm"] = .bool(false)
        o["shared_phm_rule"] = .bool(true)
        o["factorized_phm_rule"] = .bool(false)
        o["phm_c_init"] = .string("normal")
        o["phm_init_range"] = .double(0.0001)
        o["learn_phm"] = .bool(true)
        o["hypercomplex_nonlinearity"] = .string("glorot-uniform")
        o["phm_rank"] = .int(1)
        o["phm_bias"] = .bool(true)
        return .object(o)
    }

    /// Whole factors as integers (as AdapterHub's presets write them), others as floats.
    private static func number(_ f: Double) -> AdapterHubJSON {
        f == f.rounded() && abs(f) < 1e15 ? .int(Int(f)) : .double(f)
    }
}
