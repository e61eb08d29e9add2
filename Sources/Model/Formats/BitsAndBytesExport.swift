import Foundation
import Quant
import Tensor

/// Writing a model whose linear layers are ``NF4Linear`` or ``Int8Linear`` as the folder
/// transformers saves for a bitsandbytes-quantized model (see ``BitsAndBytesWeights`` for the
/// tensor names): `config.json` with a `quantization_config`, and `model.safetensors` holding
/// the quantized layers in bitsandbytes' layout and every other weight as Float32. transformers
/// loads it with `from_pretrained(folder, device_map="cpu")`.
public enum BitsAndBytesExport {
    /// Why a model cannot be written this way.
    public enum ExportError: Error, Equatable, CustomStringConvertible {
        /// The model has no NF4/INT8 layers, or mixes 4- and 8-bit ones.
        case unsupportedLayers(String)

        public var description: String {
            switch self { case .unsupportedLayers(let why): return "cannot write a bitsandbytes checkpoint: \(why)" }
        }
    }

    /// Saves `model` to `directory` (created if needed).
    public static func save(_ model: any CausalLanguageModel, to directory: URL) throws {
        var tensors: [String: RawTensor] = [:]
        var fourBit: FourBitMatrix?, eightBit = false
        let gpt2 = model is GPT2Model
        for (path, module) in model.namedModules() {
            let prefix = path.isEmpty ? "" : path + "."
            if let q = module as? NF4Linear {
                fourBit = fourBit ?? q.weight
                if q.weight.type != fourBit?.type || q.weight.blockSize != fourBit?.blockSize || q.weight.scales.isNested != fourBit?.scales.isNested {
                    throw ExportError.unsupportedLayers("4-bit layers with different quant types, blocksizes or double quantization")
                }
                for (name, t) in fourBitTensors(q.weight) { tensors[prefix + name] = t }
            } else if let q = module as? Int8Linear {
                eightBit = true
                tensors[prefix + "weight"] = RawTensor(dtype: .i8, shape: [q.weight.rows, q.weight.columns], bytes: q.weight.codes.map { UInt8(bitPattern: $0) })
                tensors[prefix + "SCB"] = floats(q.weight.rowScales, shape: [q.weight.rows])
                tensors[prefix + "weight_format"] = RawTensor(dtype: .u8, shape: [], bytes: [0])
            } else if let q = module as? QuantizedLinear {
                tensors[prefix + "weight"] = floats(q.weight.dequantized().scalars, shape: [q.weight.rows, q.weight.columns])
            } else if let e = module as? QuantizedEmbedding {
                tensors[prefix + "weight"] = floats(e.table.dequantized().scalars, shape: [e.table.rows, e.table.columns])
            }
            for (name, p) in module.localParameters where !name.contains("lora_") && !name.contains(".") {
                var value = p.value
                if gpt2 && name == "weight" && GPT2Model.conv1DSuffixes.contains(where: { path.hasSuffix($0) }) {
                    value = value.transposed().detached
                }
                tensors[prefix + name] = floats(value.scalars, shape: value.shape)
            }
        }
        guard (fourBit != nil) != eightBit else {
            throw ExportError.unsupportedLayers(eightBit ? "it mixes 4-bit and 8-bit layers" : "it has no NF4 or INT8 linear layers")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try RawSafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
        var config = try JSONSerialization.jsonObject(with: ModelExport.configJSON(for: model)) as? [String: Any] ?? [:]
        config["quantization_config"] = quantizationConfig(fourBit: fourBit)
        // JSONSerialization writes 6.0 as 6; transformers insists on a float threshold.
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self)
            .replacingOccurrences(of: "\"llm_int8_threshold\" : 6\n", with: "\"llm_int8_threshold\" : 6.0\n")
            .replacingOccurrences(of: "\"llm_int8_threshold\" : 6,", with: "\"llm_int8_threshold\" : 6.0,")
        try Data(json.utf8).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
    }

    /// The tensors of one 4-bit weight, named relative to the layer.
    static func fourBitTensors(_ w: FourBitMatrix) -> [String: RawTensor] {
        var t: [String: RawTensor] = [
            "weight": RawTensor(dtype: .u8, shape: [w.packed.count, 1], bytes: w.packed),
            "weight.quant_map": floats(w.type.codeValues, shape: [16]),
        ]
        var state = "{\"quant_type\": \"\(w.type.rawValue)\", \"blocksize\": \(w.blockSize), \"dtype\": \"float32\", \"shape\": [\(w.rows), \(w.columns)]"
        switch w.scales {
        case .plain(let absmax):
            t["weight.absmax"] = floats(absmax, shape: [absmax.count])
        case .nested(let n):
            t["weight.absmax"] = RawTensor(dtype: .u8, shape: [n.codes.count], bytes: n.codes)
            t["weight.nested_absmax"] = floats(n.absmax, shape: [n.absmax.count])
            t["weight.nested_quant_map"] = floats(n.map, shape: [n.map.count])
            state += ", \"nested_blocksize\": \(n.blockSize), \"nested_dtype\": \"float32\", \"nested_offset\": \(Double(n.offset))"
        }
        state += "}"
        let bytes = Array(state.utf8)
        t["weight.quant_state.bitsandbytes__" + w.type.rawValue] = RawTensor(dtype: .u8, shape: [bytes.count], bytes: bytes)
        return t
    }

    /// transformers' `BitsAndBytesConfig` fields for the format written.
    static func quantizationConfig(fourBit: FourBitMatrix?) -> [String: Any] {
        [
            "quant_method": "bitsandbytes",
            "load_in_4bit": fourBit != nil,
            "load_in_8bit": fourBit == nil,
            "bnb_4bit_quant_type": fourBit?.type.rawValue ?? "fp4",
            "bnb_4bit_use_double_quant": fourBit?.scales.isNested ?? false,
            "bnb_4bit_compute_dtype": "float32",
            "bnb_4bit_quant_storage": "uint8",
            "llm_int8_threshold": 6.0,
            "llm_int8_has_fp16_weight": false,
            "llm_int8_enable_fp32_cpu_offload": false,
            "llm_int8_skip_modules": NSNull(),
        ]
    }

    static func floats(_ values: [Float], shape: [Int]) -> RawTensor {
        RawTensor(dtype: .f32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }
}

extension FourBitMatrix.Scales {
    /// Whether the absmax are double-quantized.
    var isNested: Bool { if case .nested = self { return true } else { return false } }
}

/// Writes tensors of any dtype from their stored bytes to a safetensors file (name order,
/// 8-byte aligned header), atomically.
enum RawSafetensorsWriter {
    static func write(_ tensors: [String: RawTensor], metadata: [String: String], to url: URL) throws {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        let entries = tensors.sorted { $0.key < $1.key }
        for (name, t) in entries {
            guard t.bytes.count == t.count * t.dtype.size else {
                throw SafetensorsError.invalidInput("tensor \"\(name)\" has \(t.bytes.count) bytes for shape \(t.shape) \(t.dtype.rawValue)")
            }
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, t) in entries { data.append(contentsOf: t.bytes) }
        do { try data.write(to: url, options: .atomic) } catch {
            throw SafetensorsError.cannotWrite(path: url.path, reason: "\(error)")
        }
    }
}
