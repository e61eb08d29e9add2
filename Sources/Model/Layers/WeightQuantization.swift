import Foundation
import Quant
import Tensor

/// A bitsandbytes weight format a model's dense linear layers can be quantized to.
public enum WeightQuantization: String, Sendable, CaseIterable, Codable {
    /// 4-bit NormalFloat, blocksize 64, double-quantized scales (QLoRA's setting).
    case nf4
    /// 4-bit FP4, blocksize 64, double-quantized scales.
    case fp4
    /// LLM.int8 row-wise 8-bit.
    case int8

    /// Replaces every dense ``Linear`` in `model` — except the output head (`lm_head`), which
    /// bitsandbytes also leaves dense — by its quantized counterpart; returns the paths replaced.
    @discardableResult
    public func quantizeLinearLayers(of model: any Module) throws -> [String] {
        var replaced: [String] = []
        for (path, module) in model.namedModules() {
            guard let linear = module as? Linear, !path.isEmpty, !isHead(path) else { continue }
            try model.replaceModule(at: path, with: try quantized(linear))
            replaced.append(path)
        }
        return replaced
    }

    /// `linear` in this format.
    public func quantized(_ linear: Linear) throws -> any LinearLayer {
        switch self {
        case .nf4: return try NF4Linear(quantizing: linear, type: .nf4)
        case .fp4: return try NF4Linear(quantizing: linear, type: .fp4)
        case .int8: return try Int8Linear(quantizing: linear)
        }
    }

    /// Whether `path` names the output head, which bitsandbytes leaves dense.
    func isHead(_ path: String) -> Bool { path == "lm_head" || path.hasSuffix(".lm_head") }
}
