import Quant
import Tensor

/// Layout changes applied to weights while loading (new tensors; inputs are not modified).
enum WeightLayout {
    /// Undoes llama.cpp's rotary permutation of a q/k projection (weight [rows, cols] or bias
    /// [rows]): within each head, stored rows are interleaved pairs (r0, r_half, r1, r_half+1, …);
    /// Hugging Face keeps the two halves contiguous. Stored row h·2d + 2i + j becomes row
    /// h·2d + j·d + i, where d is half the head dimension.
    static func unpermuteRotaryRows(_ tensor: Tensor, heads: Int, name: String) throws(GGUFError) -> Tensor {
        try rearrangeRotaryRows(tensor, heads: heads, name: name, toHalves: true)
    }

    /// llama.cpp's rotary permutation of a q/k projection, the inverse of
    /// ``unpermuteRotaryRows(_:heads:name:)``: Hugging Face row h·2d + j·d + i becomes stored row
    /// h·2d + 2i + j.
    static func permuteRotaryRows(_ tensor: Tensor, heads: Int, name: String) throws(GGUFError) -> Tensor {
        try rearrangeRotaryRows(tensor, heads: heads, name: name, toHalves: false)
    }

    /// Moves each head's rows between the interleaved-pairs order and the contiguous-halves order.
    private static func rearrangeRotaryRows(_ tensor: Tensor, heads: Int, name: String, toHalves: Bool) throws(GGUFError) -> Tensor {
        guard tensor.rank <= 2 else {
            throw .invalidTensorInfo(tensor: name, reason: "shape \(tensor.shape) cannot be split into \(heads) rotary heads")
        }
        let rows = tensor.shape.first ?? 0, columns = tensor.rank == 2 ? tensor.shape[1] : 1
        let moves = try rotaryRowMoves(rows: rows, heads: heads, name: name, toHalves: toHalves)
        return tensor.withUnsafeBufferPointer { source in
            Tensor.build(tensor.shape) { out in
                guard let src = source.baseAddress, let dst = out.baseAddress else { return }
                for (from, to) in moves { (dst + to * columns).update(from: src + from * columns, count: columns) }
            }
        }
    }

    /// Undoes llama.cpp's rotary permutation of a q/k projection kept in a block format: whole rows
    /// of blocks move, so the weights stay as stored, in a new owned matrix.
    static func unpermuteRotaryRows(_ matrix: QuantizedMatrix, heads: Int, name: String) throws -> QuantizedMatrix {
        let moves = try rotaryRowMoves(rows: matrix.rows, heads: heads, name: name, toHalves: true)
        let rowBytes = matrix.rowBytes
        let stored = matrix.withUnsafeBytes { [UInt8]($0.prefix(matrix.byteCount)) }
        var rearranged = [UInt8](repeating: 0, count: stored.count)
        for (from, to) in moves {
            rearranged.replaceSubrange((to * rowBytes)..<((to + 1) * rowBytes), with: stored[(from * rowBytes)..<((from + 1) * rowBytes)])
        }
        return try QuantizedMatrix(type: matrix.type, rows: matrix.rows, columns: matrix.columns, copying: rearranged)
    }

    /// The row moves (stored → Hugging Face with `toHalves`, else back) of a q/k projection of
    /// `rows` rows and `heads` heads: within head h, row h·2d + 2i + j and row h·2d + j·d + i.
    private static func rotaryRowMoves(rows: Int, heads: Int, name: String, toHalves: Bool) throws(GGUFError) -> [(from: Int, to: Int)] {
        guard heads > 0, rows % (2 * heads) == 0 else {
            throw .invalidTensorInfo(tensor: name, reason: "\(rows) rows cannot be split into \(heads) rotary heads")
        }
        let half = rows / heads / 2
        var moves: [(from: Int, to: Int)] = []
        moves.reserveCapacity(rows)
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    let interleaved = h * 2 * half + 2 * i + j, halves = h * 2 * half + j * half + i
                    moves.append(toHalves ? (interleaved, halves) : (halves, interleaved))
                }
            }
        }
        return moves
    }

    /// The transpose of a rank-2 tensor, copied in cache-friendly tiles.
    static func transposed(_ tensor: Tensor, name: String) throws(GGUFError) -> Tensor {
        guard tensor.rank == 2 else {
            throw .invalidTensorInfo(tensor: name, reason: "expected a matrix to transpose, got shape \(tensor.shape)")
        }
        let rows = tensor.shape[0], columns = tensor.shape[1]
        let tile = 32
        return tensor.withUnsafeBufferPointer { source in
            Tensor.build([columns, rows]) { out in
                guard let src = source.baseAddress, let dst = out.baseAddress else { return }
                for r0 in stride(from: 0, to: rows, by: tile) {
                    for c0 in stride(from: 0, to: columns, by: tile) {
                        for r in r0..<min(r0 + tile, rows) {
                            for c in c0..<min(c0 + tile, columns) { dst[c * rows + r] = src[r * columns + c] }
                        }
                    }
                }
            }
        }
    }
}
