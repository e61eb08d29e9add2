/// Quantized weight formats: GGML block formats (Q8_0, Q4_K, …) read from GGUF files, NF4 with
/// double quantization (bitsandbytes-compatible) and INT8, with dequantizing kernels.
public enum Quant {}
