import CKernels
import Foundation

/// Rotary position embedding tables and the rotation op.
public final class RotaryEmbedding: Sendable {
    /// How the two halves of each rotated pair are laid out in a head.
    public enum Layout: Sendable {
        /// Pairs (i, i + D/2): GPT-NeoX, Hugging Face Llama/Qwen2 (`rotate_half`).
        case neox
        /// Pairs (2i, 2i+1): the original RoPE / GPT-J layout.
        case interleaved
    }

    /// Rotated width (the head dimension).
    public let dimension: Int
    /// Largest position + 1 the tables cover.
    public let maxPositions: Int
    /// Pair layout.
    public let layout: Layout
    let cosTable: [Float]
    let sinTable: [Float]

    /// Builds tables for angles `position · inverseFrequency[i]`.
    ///
    /// - Parameters:
    ///   - inverseFrequencies: D/2 values; by default `base^(−2i/D)`. Rope-scaling variants (linear,
    ///     Llama-3) pass adjusted frequencies.
    ///   - attentionFactor: multiplies cos and sin (YaRN-style scaling; 1 otherwise).
    public init(dimension: Int, maxPositions: Int, base: Float = 10_000, layout: Layout = .neox,
                inverseFrequencies: [Float]? = nil, attentionFactor: Float = 1) {
        self.dimension = dimension
        self.maxPositions = maxPositions
        self.layout = layout
        let half = dimension / 2
        let inv = inverseFrequencies ?? (0..<half).map { i in
            Float(1.0 / pow(Double(base), Double(2 * i) / Double(dimension)))
        }
        var c = [Float](repeating: 0, count: maxPositions * half), s = c
        for p in 0..<maxPositions {
            for i in 0..<half {
                // Angles in Float32 like PyTorch's `outer(t, inv_freq)`, then cos/sin.
                let angle = Float(p) * inv[i]
                c[p * half + i] = Foundation.cos(angle) * attentionFactor
                s[p * half + i] = Foundation.sin(angle) * attentionFactor
            }
        }
        cosTable = c
        sinTable = s
    }

    /// Rotates x [rows, heads, D] in place-free fashion; row r sits at `positions[r]`.
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, heads: Int,
                      positions: UnsafePointer<Int32>, inverse: Bool = false) {
        cosTable.withUnsafeBufferPointer { c in
            sinTable.withUnsafeBufferPointer { s in
                tk_rope(x, y, rows, heads, dimension, positions, c.baseAddress, s.baseAddress,
                        layout == .neox ? 1 : 0, inverse ? 1 : 0)
            }
        }
    }
}

extension Tensor {
    /// Applies rotary embeddings to x [B, T, H, D] (or any [..., H, D]) with one position per row
    /// of H heads (`positions.count` = number of such rows). Positions must be below the table's
    /// `maxPositions`.
    public static func rotary(_ x: Tensor, positions: [Int32], table: RotaryEmbedding) -> Tensor {
        precondition(x.rank >= 2 && x.shape[x.rank - 1] == table.dimension, "rotary: \(x.shape) vs dimension \(table.dimension)")
        let heads = x.shape[x.rank - 2], rows = x.count / (heads * table.dimension)
        precondition(positions.count == rows, "rotary: \(positions.count) positions for \(rows) rows")
        precondition(positions.allSatisfy { $0 >= 0 && Int($0) < table.maxPositions }, "rotary: position beyond table")
        let out = Tensor.uninitialized(x.shape)
        positions.withUnsafeBufferPointer { p in
            table.apply(x.pointer, into: out.pointer, rows: rows, heads: heads, positions: p.baseAddress!)
        }
        return record(out, inputs: [x]) { g in
            let dx = Tensor.uninitialized(g.shape)
            positions.withUnsafeBufferPointer { p in
                table.apply(g.pointer, into: dx.pointer, rows: rows, heads: heads, positions: p.baseAddress!, inverse: true)
            }
            return [dx]
        }
    }
}
