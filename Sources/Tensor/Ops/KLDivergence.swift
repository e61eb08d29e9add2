import CKernels

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
    /// - Returns: a scalar (0 without rows). Nothing of size N·V is kept for the backward pass: it
    ///   recomputes both softmaxes row by row.
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
        guard rows > 0 else { return Tensor(0) }
        let sd = student.detached, td = teacher.detached
        let rowLoss = [Float](unsafeUninitializedCapacity: rows) { buffer, initialized in
            let out = buffer.baseAddress!
            Parallel.forRanges(rows, minimumChunk: 2) { range in
                var row = KLRow(kept: kept)
                for r in range {
                    row.load(student: sd, teacher: td, indices: teacherIndices, row: r, vocab: vocab, temperature: temperature)
                    out[r] = row.divergence(direction)
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
                var row = KLRow(kept: kept)
                for r in range {
                    row.load(student: sd, teacher: td, indices: teacherIndices, row: r, vocab: vocab, temperature: temperature)
                    if let teacherIndices {
                        row.gradient(direction, rowLoss: rowLoss[r], scale: scale) { j, v in pd[r * vocab + Int(teacherIndices[r * kept + j])] = v }
                    } else {
                        row.gradient(direction, rowLoss: rowLoss[r], scale: scale) { j, v in pd[r * vocab + j] = v }
                    }
                }
            }
            return [dx]
        }
    }
}

/// Scratch for one row of the KL computation: both sides' softened logits over the kept tokens,
/// their softmaxes (AVX2 kernels) and log-sum-exps.
private struct KLRow {
    let kept: Int
    var s, t, q, p: [Float]
    var lseS: Float = 0, lseT: Float = 0

    init(kept: Int) {
        self.kept = kept
        (s, t, q, p) = ([Float](repeating: 0, count: kept), [Float](repeating: 0, count: kept),
                        [Float](repeating: 0, count: kept), [Float](repeating: 0, count: kept))
    }

    /// Loads row `row`: s = student/T (the kept tokens), t = teacher/T, q and p their softmaxes.
    mutating func load(student: Tensor, teacher: Tensor, indices: [Int32]?, row: Int, vocab: Int, temperature: Float) {
        let sb = student.pointer + row * vocab, tb = teacher.pointer + row * kept, inv = 1 / temperature
        if let indices {
            for j in 0..<kept { s[j] = sb[Int(indices[row * kept + j])] * inv }
        } else {
            for j in 0..<kept { s[j] = sb[j] * inv }
        }
        for j in 0..<kept { t[j] = tb[j] * inv }
        let n = kept
        lseS = s.withUnsafeBufferPointer { x in q.withUnsafeMutableBufferPointer { tk_softmax_lse(x.baseAddress!, $0.baseAddress!, n) } }
        lseT = t.withUnsafeBufferPointer { x in p.withUnsafeMutableBufferPointer { tk_softmax_lse(x.baseAddress!, $0.baseAddress!, n) } }
    }

    /// KL(p ‖ q) (forward) or KL(q ‖ p) (reverse) of the loaded row.
    func divergence(_ direction: KLDirection) -> Float {
        var kl: Float = 0
        let shift = lseS - lseT  // log p − log q = (t − s) + (lseS − lseT)
        switch direction {
        case .forward: for j in 0..<kept where p[j] > 0 { kl += p[j] * (t[j] - s[j] + shift) }
        case .reverse: for j in 0..<kept where q[j] > 0 { kl += q[j] * (s[j] - t[j] - shift) }
        }
        return kl
    }

    /// Calls `write(j, scale · dKL/d(s_j))` for every kept token of the loaded row.
    func gradient(_ direction: KLDirection, rowLoss: Float, scale: Float, _ write: (Int, Float) -> Void) {
        let shift = lseS - lseT
        switch direction {
        case .forward: for j in 0..<kept { write(j, scale * (q[j] - p[j])) }
        // d/ds_j Σ q (log q − log p) = q_j · ((log q_j − log p_j) − KL)
        case .reverse: for j in 0..<kept { write(j, q[j] > 0 ? scale * q[j] * ((s[j] - t[j] - shift) - rowLoss) : 0) }
        }
    }
}
