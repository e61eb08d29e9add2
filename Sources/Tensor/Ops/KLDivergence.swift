import Foundation

/// Which way a Kullback–Leibler divergence between a teacher p and a student q is taken.
public enum KLDirection: String, Sendable, Codable, CaseIterable {
    /// KL(p ‖ q) = Σ p (log p − log q): the student covers every token the teacher likes ("mean-seeking").
    case forward
    /// KL(q ‖ p) = Σ q (log q − log p): the student concentrates on the teacher's main modes ("mode-seeking").
    case reverse
}

/// Distillation loss between softened teacher and student distributions.
extension Tensor {
    /// T² · Σ over rows of KL between softmax(teacher/T) and softmax(student/T), divided by
    /// `normalizer` (default: the number of rows, i.e. the mean per position).
    ///
    /// The T² factor (Hinton et al.) keeps the gradient's magnitude independent of the temperature,
    /// so a distillation term can be weighted against cross-entropy without retuning when T changes.
    ///
    /// - Parameters:
    ///   - student: student logits [N, V] (any leading shape is flattened); the only differentiable input.
    ///   - teacher: teacher logits [N, V], or [N, k] with `teacherIndices`. Never differentiated.
    ///   - teacherIndices: N·k vocabulary ids of the teacher's k kept logits per row (its top-k).
    ///     Both distributions are then taken over those k tokens only, each renormalised there.
    ///   - temperature: T > 0.
    ///   - direction: forward KL(teacher ‖ student) or reverse KL(student ‖ teacher).
    ///   - normalizer: divide the summed loss by this (pass a whole accumulated batch's target count).
    /// - Returns: a scalar. The backward recomputes both softmaxes from the saved per-row log-sum-exps.
    public static func klDivergence(student: Tensor, teacher: Tensor, teacherIndices: [Int32]? = nil,
                                    temperature: Float = 1, direction: KLDirection = .forward,
                                    normalizer: Float? = nil) -> Tensor {
        let vocab = student.shape.last ?? 1, rows = student.count / Swift.max(1, vocab)
        let kept = teacher.shape.last ?? 1
        precondition(temperature > 0 && temperature.isFinite, "klDivergence: temperature \(temperature)")
        precondition(teacher.count == rows * kept, "klDivergence: teacher \(teacher.shape) for student \(student.shape)")
        if let teacherIndices {
            precondition(teacherIndices.count == rows * kept, "klDivergence: \(teacherIndices.count) indices for \(rows)×\(kept)")
            precondition(teacherIndices.allSatisfy { $0 >= 0 && Int($0) < vocab }, "klDivergence: index outside 0..<\(vocab)")
        } else {
            precondition(kept == vocab, "klDivergence: teacher \(teacher.shape) vs student \(student.shape) without indices")
        }
        let sd = student.detached, td = teacher.detached
        let rowLoss = [Float](unsafeUninitializedCapacity: rows) { buffer, initialized in
            let out = buffer.baseAddress!
            Parallel.forRanges(rows, minimumChunk: 2) { range in
                var s = [Float](repeating: 0, count: kept)
                for r in range {
                    KLRow(student: sd, teacher: td, indices: teacherIndices, row: r, vocab: vocab, kept: kept,
                          temperature: temperature).gather(into: &s)
                    out[r] = KLRow.divergence(s: s, t: td.pointer + r * kept, kept: kept, temperature: temperature, direction: direction)
                }
            }
            initialized = rows
        }
        let denominator = normalizer ?? Float(Swift.max(1, rows))
        let t2 = temperature * temperature
        let total = rowLoss.reduce(0.0) { $0 + Double($1) }
        let out = Tensor(Float(total * Double(t2) / Double(denominator)))
        return record(out, inputs: [student]) { g in
            // d(T²·KL)/dz = T·dKL/d(z/T), scaled by the upstream gradient over the normalizer.
            let scale = g.item * temperature / denominator
            let dx = teacherIndices == nil ? Tensor.uninitialized(sd.shape) : Tensor.zeros(sd.shape)
            let pd = dx.pointer
            Parallel.forRanges(rows, minimumChunk: 2) { range in
                var s = [Float](repeating: 0, count: kept), ds = [Float](repeating: 0, count: kept)
                for r in range {
                    let row = KLRow(student: sd, teacher: td, indices: teacherIndices, row: r, vocab: vocab, kept: kept,
                                    temperature: temperature)
                    row.gather(into: &s)
                    KLRow.gradient(s: s, t: td.pointer + r * kept, kept: kept, temperature: temperature, direction: direction,
                                   rowLoss: rowLoss[r], into: &ds)
                    if let teacherIndices {
                        for j in 0..<kept { pd[r * vocab + Int(teacherIndices[r * kept + j])] = scale * ds[j] }
                    } else {
                        for j in 0..<kept { pd[r * vocab + j] = scale * ds[j] }
                    }
                }
            }
            return [dx]
        }
    }
}

/// One row of the KL computation: the student's logits over the kept tokens, softened.
private struct KLRow {
    let student: Tensor, teacher: Tensor
    let indices: [Int32]?
    let row, vocab, kept: Int
    let temperature: Float

    init(student: Tensor, teacher: Tensor, indices: [Int32]?, row: Int, vocab: Int, kept: Int, temperature: Float) {
        (self.student, self.teacher, self.indices, self.row, self.vocab, self.kept, self.temperature) =
            (student, teacher, indices, row, vocab, kept, temperature)
    }

    /// The student logits of the kept tokens (not yet divided by T).
    func gather(into s: inout [Float]) {
        let base = student.pointer + row * vocab
        if let indices {
            for j in 0..<kept { s[j] = base[Int(indices[row * kept + j])] }
        } else {
            for j in 0..<kept { s[j] = base[j] }
        }
    }

    /// log-sum-exp of x/T.
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int, _ temperature: Float) -> Float {
        var m = -Float.infinity
        for j in 0..<n { m = Swift.max(m, x[j] / temperature) }
        guard m.isFinite else { return m }
        var sum: Float = 0
        for j in 0..<n { sum += Foundation.exp(x[j] / temperature - m) }
        return m + Foundation.log(sum)
    }

    /// The row's KL between softmax(t/T) and softmax(s/T).
    static func divergence(s: [Float], t: UnsafePointer<Float>, kept: Int, temperature: Float, direction: KLDirection) -> Float {
        s.withUnsafeBufferPointer { sp in
            let ls = logSumExp(sp.baseAddress!, kept, temperature), lt = logSumExp(t, kept, temperature)
            var kl: Float = 0
            for j in 0..<kept {
                let logQ = sp[j] / temperature - ls, logP = t[j] / temperature - lt
                switch direction {
                case .forward: let p = Foundation.exp(logP); if p > 0 { kl += p * (logP - logQ) }
                case .reverse: let q = Foundation.exp(logQ); if q > 0 { kl += q * (logQ - logP) }
                }
            }
            return kl
        }
    }

    /// dKL/d(s/T) over the kept tokens.
    static func gradient(s: [Float], t: UnsafePointer<Float>, kept: Int, temperature: Float, direction: KLDirection,
                         rowLoss: Float, into ds: inout [Float]) {
        s.withUnsafeBufferPointer { sp in
            let ls = logSumExp(sp.baseAddress!, kept, temperature), lt = logSumExp(t, kept, temperature)
            for j in 0..<kept {
                let logQ = sp[j] / temperature - ls, logP = t[j] / temperature - lt
                let q = Foundation.exp(logQ)
                switch direction {
                case .forward: ds[j] = q - Foundation.exp(logP)
                // d/dz_j Σ q (log q − log p) = q_j · ((log q_j − log p_j) − KL)
                case .reverse: ds[j] = q > 0 ? q * ((logQ - logP) - rowLoss) : 0
                }
            }
        }
    }
}
