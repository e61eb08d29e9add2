/// The Float32 sum of a contiguous vector in the order PyTorch's CPU reduction adds it
/// (`cascade_sum`: eight-lane vectors, four interleaved accumulators, levels of 16), so that
/// means computed here equal `tensor.mean()` bit for bit — bitsandbytes' double quantization
/// subtracts such a mean. Matches single-threaded reductions (vectors up to 32768 elements always are).
enum TorchFloatSum {
    static let lanes = 8

    /// `torch.sum(x)` for Float32 `x`.
    static func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
        let n = x.count
        guard n >= lanes else { return rowSum(count: n, zero: Float(0)) { x[$0] } }
        let vectors = n / lanes
        let vector = rowSum(count: vectors, zero: SIMD8<Float>()) { v in
            SIMD8<Float>(x[(v * lanes)..<(v * lanes + lanes)])
        }
        var total: Float = 0
        for k in (vectors * lanes)..<n { total += x[k] }
        for lane in 0..<lanes { total += vector[lane] }
        return total
    }

    /// `torch.mean(x)`: the sum divided by the count in Float32.
    static func mean(_ x: [Float]) -> Float {
        x.withUnsafeBufferPointer { sum($0) } / Float(x.count)
    }

    /// `row_sum`: the row seen as [-1, 4], four accumulators, leftovers into the first.
    private static func rowSum<A: Accumulable>(count: Int, zero: A, load: (Int) -> A) -> A {
        let ilp = 4, rows = count / ilp
        var partial = multiRowSum(rows: rows, width: ilp, zero: zero) { i, k in load(i * ilp + k) }
        for i in (rows * ilp)..<count { partial[0].add(load(i)) }
        for k in 1..<ilp { partial[0].add(partial[k]) }
        return partial[0]
    }

    /// `multi_row_sum`: four levels of partial sums, each flushed into the next every 2^p rows.
    private static func multiRowSum<A: Accumulable>(rows size: Int, width: Int, zero: A, load: (Int, Int) -> A) -> [A] {
        let levels = 4
        let power = max(4, ceilLog2(size) / levels)
        let step = 1 << power, mask = step - 1
        var acc = [[A]](repeating: [A](repeating: zero, count: width), count: levels)
        var i = 0
        while i + step <= size {
            for _ in 0..<step {
                for k in 0..<width { acc[0][k].add(load(i, k)) }
                i += 1
            }
            for j in 1..<levels {
                for k in 0..<width { acc[j][k].add(acc[j - 1][k]); acc[j - 1][k] = zero }
                if i & (mask << (j * power)) != 0 { break }
            }
        }
        while i < size {
            for k in 0..<width { acc[0][k].add(load(i, k)) }
            i += 1
        }
        for j in 1..<levels { for k in 0..<width { acc[0][k].add(acc[j][k]) } }
        return acc[0]
    }

    private static func ceilLog2(_ x: Int) -> Int {
        x <= 2 ? 1 : (Int.bitWidth - (x - 1).leadingZeroBitCount)
    }
}

/// A scalar or a vector of lanes that adds element-wise.
fileprivate protocol Accumulable { mutating func add(_ other: Self) }
extension Float: Accumulable { fileprivate mutating func add(_ other: Float) { self += other } }
extension SIMD8: Accumulable where Scalar == Float {
    fileprivate mutating func add(_ other: SIMD8<Float>) { self += other }
}
