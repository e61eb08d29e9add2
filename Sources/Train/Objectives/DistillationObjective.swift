import Model
import Tensor

/// Where a distillation teacher's logits come from.
public enum DistillationTeacher {
    /// Another loaded model with the student's vocabulary.
    case model(any CausalLanguageModel)
    /// The student's own frozen base: the same weights with every adapter bypassed
    /// (``AdapterRouting`` set to `.base`), so no second copy of the weights is needed.
    case base
}

/// Knowledge distillation: KL divergence between the teacher's and the student's next-token
/// distributions at every target position, softened by a temperature.
///
/// The loss is T² · Σ KL / normalizer (see ``Tensor/klDivergence(student:teacher:teacherIndices:temperature:direction:normalizer:)``):
/// scaled by T² as is conventional, so its gradients keep their size when T changes. The teacher
/// runs without gradients. With `topK`, only the teacher's k largest logits per position are kept
/// and both distributions are taken over those k tokens.
public struct DistillationObjective: TrainingObjective {
    /// The teacher.
    public let teacher: DistillationTeacher
    /// Softmax temperature T (> 0).
    public let temperature: Float
    /// Forward KL(teacher ‖ student) or reverse KL(student ‖ teacher).
    public let direction: KLDirection
    /// Keep only the teacher's k largest logits per position (nil: the whole vocabulary).
    public let topK: Int?
    public let name: String

    /// A distillation objective.
    public init(teacher: DistillationTeacher, temperature: Float = 1, direction: KLDirection = .forward,
                topK: Int? = nil, name: String = "kl") {
        self.teacher = teacher
        self.temperature = temperature
        self.direction = direction
        self.topK = topK
        self.name = name
    }

    public func prepare(model: any CausalLanguageModel, parameters: [(name: String, parameter: Parameter)]) throws {
        guard temperature > 0, temperature.isFinite else { throw ObjectiveError.invalidSetting("temperature must be positive, got \(temperature)") }
        let v = model.description.vocabularySize
        if let topK, topK < 1 || topK > v { throw ObjectiveError.invalidSetting("topK must be in 1…\(v), got \(topK)") }
        if case .model(let t) = teacher, t.description.vocabularySize != v {
            throw ObjectiveError.vocabularyMismatch(teacher: t.description.vocabularySize, student: v)
        }
    }

    public func loss(in context: ObjectiveContext) throws -> ObjectiveValue {
        let student = try context.studentLogits()
        let teacherLogits = try self.teacherLogits(context)
        guard teacherLogits.shape == student.shape else {
            throw ObjectiveError.vocabularyMismatch(teacher: teacherLogits.shape.last ?? 0, student: student.shape.last ?? 0)
        }
        let loss: Tensor
        if let topK, topK < teacherLogits.shape[1] {
            let (values, indices) = teacherLogits.topK(topK)
            loss = Tensor.klDivergence(student: student, teacher: values, teacherIndices: indices, temperature: temperature,
                                       direction: direction, normalizer: context.normalizer)
        } else {
            loss = Tensor.klDivergence(student: student, teacher: teacherLogits, temperature: temperature,
                                       direction: direction, normalizer: context.normalizer)
        }
        return ObjectiveValue(loss, name: name)
    }

    /// The teacher's logits at the batch's target positions, computed without gradients.
    func teacherLogits(_ context: ObjectiveContext) throws -> Tensor {
        let input = context.input(logits: .rows(context.targetRows))
        return try GradientMode.withoutGradients {
            switch teacher {
            case .model(let model): return try model.forward(input, cache: nil)
            case .base: return try AdapterRouting.$selection.withValue(.base) { try context.model.forward(input, cache: nil) }
            }
        }
    }
}

extension Tensor {
    /// The k largest values of each row of a [N, V] tensor, in descending order, with their column
    /// indices (flattened [N·k]).
    func topK(_ k: Int) -> (values: Tensor, indices: [Int32]) {
        let cols = shape.last ?? 1, rows = count / Swift.max(1, cols)
        var indices = [Int32](repeating: 0, count: rows * k)
        let values = Tensor.build([rows, k]) { out in
            withUnsafeBufferPointer { x in
                indices.withUnsafeMutableBufferPointer { idx in
                    var best: [(value: Float, index: Int32)] = []
                    best.reserveCapacity(k + 1)
                    for r in 0..<rows {
                        best.removeAll(keepingCapacity: true)
                        let row = x.baseAddress! + r * cols
                        for j in 0..<cols {
                            let v = row[j]
                            if best.count == k, v <= best[k - 1].value { continue }
                            // Insert keeping descending order (k is small: a shifted insert beats a heap).
                            var at = best.count
                            while at > 0, best[at - 1].value < v { at -= 1 }
                            best.insert((v, Int32(j)), at: at)
                            if best.count > k { best.removeLast() }
                        }
                        for (i, e) in best.enumerated() { out[r * k + i] = e.value; idx[r * k + i] = e.index }
                    }
                }
            }
        }
        return (values, indices)
    }
}
