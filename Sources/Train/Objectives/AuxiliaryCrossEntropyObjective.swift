import Model
import Tensor

/// Cross-entropy on a second dataset (e.g. raw domain text) mixed into every micro-batch: each
/// micro-batch of the task data is paired with the next batch of `data`, cycling through its
/// epochs. The term is that batch's mean token loss, counted once per optimizer step.
///
/// Which auxiliary batch a micro-batch gets depends only on its index since training began, so a
/// resumed run sees the same pairs.
public final class AuxiliaryCrossEntropyObjective: TrainingObjective {
    /// The auxiliary batches.
    public let data: any TrainingBatches
    /// Seed for the auxiliary data's order.
    public let seed: UInt64
    public let name: String
    private var epoch: (index: Int, batches: [TrainingBatch])?
    private var perEpoch = 0

    /// An auxiliary term over `data`.
    public init(data: any TrainingBatches, seed: UInt64 = 0, name: String = "aux_ce") {
        self.data = data
        self.seed = seed
        self.name = name
    }

    public func prepare(model: any CausalLanguageModel, parameters: [(name: String, parameter: Parameter)]) throws {
        let first = data.batches(epoch: 0, seed: seed)
        guard first.contains(where: { $0.targetCount > 0 }) else { throw ObjectiveError.noData("the auxiliary data has no targets") }
        for batch in first { try Train.validate(batch, vocabularySize: model.description.vocabularySize) }
        perEpoch = first.count
        epoch = (0, first)
    }

    public func loss(in context: ObjectiveContext) throws -> ObjectiveValue {
        guard perEpoch > 0 else { throw ObjectiveError.noData("the auxiliary objective was not prepared") }
        let e = context.microBatchIndex / perEpoch, i = context.microBatchIndex % perEpoch
        if epoch?.index != e { epoch = (e, data.batches(epoch: e, seed: seed)) }
        guard let batches = epoch?.batches, i < batches.count else { throw ObjectiveError.noData("the auxiliary data changed size") }
        let batch = batches[i]
        try Train.validate(batch, vocabularySize: context.model.description.vocabularySize)
        guard batch.targetCount > 0 else { return ObjectiveValue(Tensor(0), name: name) }
        let aux = ObjectiveContext(model: context.model, batch: batch, normalizer: Float(batch.targetCount),
                                   parameters: context.parameters, microBatchIndex: context.microBatchIndex)
        let mean = try CrossEntropyObjective().loss(in: aux).loss
        return ObjectiveValue(mean * context.stepShare, name: name)
    }
}
