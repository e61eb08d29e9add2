import Foundation
import Quant
import Tensor

/// Reading the linear weights of a checkpoint saved by transformers with a bitsandbytes
/// quantization config (`load_in_4bit` / `load_in_8bit`, then `save_pretrained`).
///
/// 4-bit layer `P` (NF4 or FP4): `P.weight` (packed codes, any dtype, ⌈n/2⌉ bytes),
/// `P.weight.absmax` (Float32, or with double quantization uint8 codes plus
/// `P.weight.nested_absmax` and `P.weight.nested_quant_map`), `P.weight.quant_map` and
/// `P.weight.quant_state.bitsandbytes__nf4|fp4`: a uint8 tensor holding JSON with
/// `quant_type`, `blocksize`, `shape` and, nested, `nested_blocksize` and `nested_offset`.
///
/// 8-bit layer `P`: `P.weight` int8 [out, in], `P.SCB` Float32 [out] and `P.weight_format`
/// (0: row-major; other layouts are rejected).
public enum BitsAndBytesWeights {
    /// Linear layer `prefix` ([rows, columns] weight, optional bias) as an ``NF4Linear`` or
    /// ``Int8Linear`` and the tensor names it uses, or nil when the archive stores that weight
    /// unquantized.
    public static func linear(_ prefix: String, rows: Int, columns: Int, bias: Parameter?, in archive: any WeightArchive)
        throws -> (layer: any LinearLayer, names: [String])? {
        guard let (weight, names) = try linearWeight(prefix, rows: rows, columns: columns, in: archive) else { return nil }
        if let w = weight as? FourBitMatrix { return (NF4Linear(weight: w, bias: bias), names) }
        if let w = weight as? Int8Matrix { return (Int8Linear(weight: w, bias: bias), names) }
        return nil
    }

    /// The quantized weight of linear layer `prefix` ([rows, columns]) and the tensor names it
    /// uses, or nil when the archive stores that weight unquantized.
    /// - Throws: ``QuantizationStateError`` for inconsistent or malformed quantization state,
    ///   ``WeightLoadError/shapeMismatch(name:expected:actual:)`` for the wrong shape.
    public static func linearWeight(_ prefix: String, rows: Int, columns: Int, in archive: any WeightArchive)
        throws -> (weight: any RowDecodableMatrix, names: [String])? {
        guard let raw = archive as? any RawTensorArchive else { return nil }
        let weightName = prefix + ".weight"
        for type in FourBitType.allCases where raw.contains(weightName + ".quant_state.bitsandbytes__" + type.rawValue) {
            return try fourBit(weightName, type: type, rows: rows, columns: columns, in: raw)
        }
        if raw.contains(prefix + ".SCB") { return try int8(prefix, rows: rows, columns: columns, in: raw) }
        return nil
    }

    /// The fields of the packed JSON quantization state.
    struct FourBitState: Decodable {
        var quant_type: String
        var blocksize: Int
        var shape: [Int]
        var nested_blocksize: Int?
        var nested_offset: Double?
    }

    static func fourBit(_ name: String, type: FourBitType, rows: Int, columns: Int, in archive: any RawTensorArchive)
        throws -> (weight: any RowDecodableMatrix, names: [String]) {
        let stateName = name + ".quant_state.bitsandbytes__" + type.rawValue
        let stateBytes = try archive.rawTensor(named: stateName).bytes
        let state: FourBitState
        do { state = try JSONDecoder().decode(FourBitState.self, from: Data(stateBytes)) } catch {
            throw QuantizationStateError.invalidState(tensor: name, reason: "\(stateName) is not the expected JSON (\(error))")
        }
        guard state.quant_type == type.rawValue else {
            guard FourBitType(rawValue: state.quant_type) != nil else {
                throw QuantizationStateError.unknownQuantType(tensor: name, type: state.quant_type)
            }
            throw QuantizationStateError.invalidState(tensor: name, reason: "quant_type \(state.quant_type) under key \(stateName)")
        }
        guard state.shape == [rows, columns] else {
            throw WeightLoadError.shapeMismatch(name: name, expected: [rows, columns], actual: state.shape)
        }
        var names = [name, stateName, name + ".absmax", name + ".quant_map"]
        let packed = try archive.rawTensor(named: name).bytes
        let absmax = try archive.rawTensor(named: name + ".absmax")
        let quantMap = try floats(name + ".quant_map", in: archive, owner: name)
        guard quantMap.count == 16 else { throw QuantizationStateError.wrongCount(tensor: name, part: "quant_map", expected: 16, actual: quantMap.count) }
        guard quantMap.map(\.bitPattern) == type.codeValues.map(\.bitPattern) else {
            throw QuantizationStateError.invalidState(tensor: name, reason: "quant_map is not bitsandbytes' \(type.rawValue) table")
        }
        let scales: FourBitMatrix.Scales
        if absmax.dtype == .u8 {
            guard let nestedBlockSize = state.nested_blocksize, let offset = state.nested_offset else {
                throw QuantizationStateError.invalidState(tensor: name, reason: "uint8 absmax without nested_blocksize / nested_offset")
            }
            names += [name + ".nested_absmax", name + ".nested_quant_map"]
            scales = .nested(FourBitMatrix.NestedScales(
                codes: absmax.bytes, absmax: try floats(name + ".nested_absmax", in: archive, owner: name),
                map: try floats(name + ".nested_quant_map", in: archive, owner: name),
                blockSize: nestedBlockSize, offset: Float(offset)))
        } else {
            guard let values = absmax.float32Values else {
                throw QuantizationStateError.invalidState(tensor: name, reason: "absmax has dtype \(absmax.dtype.rawValue)")
            }
            scales = .plain(values)
        }
        let matrix = try FourBitMatrix(type: type, rows: rows, columns: columns, blockSize: state.blocksize,
                                       packed: packed, scales: scales, name: name)
        return (matrix, names)
    }

    static func int8(_ prefix: String, rows: Int, columns: Int, in archive: any RawTensorArchive)
        throws -> (weight: any RowDecodableMatrix, names: [String]) {
        let name = prefix + ".weight"
        let weight = try archive.rawTensor(named: name)
        guard weight.dtype == .i8 else { throw QuantizationStateError.invalidState(tensor: name, reason: "8-bit weight has dtype \(weight.dtype.rawValue)") }
        guard weight.shape == [rows, columns] else { throw WeightLoadError.shapeMismatch(name: name, expected: [rows, columns], actual: weight.shape) }
        var names = [name, prefix + ".SCB"]
        let formatName = prefix + ".weight_format"
        if archive.contains(formatName) {
            let format = try archive.rawTensor(named: formatName)
            guard format.bytes.allSatisfy({ $0 == 0 }) else {
                throw QuantizationStateError.invalidState(tensor: name, reason: "weight_format \(format.bytes) is not the row format (0)")
            }
            names.append(formatName)
        }
        let matrix = try Int8Matrix(rows: rows, columns: columns, codes: weight.bytes.map { Int8(bitPattern: $0) },
                                    rowScales: try floats(prefix + ".SCB", in: archive, owner: name), name: name)
        return (matrix, names)
    }

    static func floats(_ tensor: String, in archive: any RawTensorArchive, owner: String) throws -> [Float] {
        let raw = try archive.rawTensor(named: tensor)
        guard let values = raw.float32Values else {
            throw QuantizationStateError.invalidState(tensor: owner, reason: "\(tensor) has dtype \(raw.dtype.rawValue), expected F32")
        }
        return values
    }
}
