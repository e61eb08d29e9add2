import Foundation
import Model
import PEFT
import Tensor

/// Trains a model's trainable parameters (all of them, or the adapters PEFT added).
///
/// ```swift
/// try Adapters.apply(LoRAConfiguration(rank: 8, targetModules: .names(["q_proj", "v_proj"])), to: model)
/// let trainer = try Trainer(model: model, configuration: TrainingConfiguration(epochs: 2))
/// let history = try trainer.fit(train: batches) { event in print(event); return .proceed }
/// ```
///
/// Each optimizer step runs `gradientAccumulationSteps` micro-batches and normalises the summed
/// token losses by the number of targets across all of them, so k micro-batches equal one batch
/// k times larger. Logits are computed only at positions that have a target. The loss is an
/// ``TrainingObjective`` (next-token cross-entropy by default; distillation, EWC, L2-SP and
/// auxiliary terms compose with ``WeightedObjective``).
///
/// Data-parallel training: give every replica (e.g. every MPI rank) a trainer with the same model,
/// data and configuration and a ``TrainingCommunicator``. Each optimizer step then takes
/// `gradientAccumulationSteps × worldSize` micro-batches, replica r computing those whose index in
/// the step is r modulo the world size, and gradients, losses and target counts are summed over the
/// replicas, so the run takes the same steps as one process accumulating that many micro-batches.
/// Evaluation is sharded the same way; only replica 0 writes checkpoints.
public final class Trainer {
    /// The model being trained.
    public let model: any CausalLanguageModel
    /// The run's settings.
    public let configuration: TrainingConfiguration
    /// The optimizer and its state.
    public let optimizer: Optimizer
    /// What is minimised.
    public let objective: any TrainingObjective
    /// The data-parallel replicas this trainer is one of (``SingleProcess`` by default).
    public let communicator: any TrainingCommunicator
    /// Completed optimizer steps.
    public internal(set) var step = 0
    /// Where in the data the next micro-batch comes from.
    var cursor = DataCursor()
    var history = TrainingHistory()
    var bestEvalLoss = Float.infinity
    var evalsWithoutImprovement = 0

    /// A trainer for `model`'s currently trainable parameters, minimising `objective`, as one of
    /// `communicator`'s replicas; throws when the configuration is invalid, nothing is trainable or
    /// the objective does not fit the model.
    public init(model: any CausalLanguageModel, configuration: TrainingConfiguration,
                objective: any TrainingObjective = CrossEntropyObjective(),
                communicator: any TrainingCommunicator = SingleProcess()) throws {
        try configuration.validate()
        self.model = model
        self.configuration = configuration
        self.optimizer = Optimizer(configuration.optimizer)
        self.objective = objective
        self.communicator = communicator
        guard !trainableParameters.isEmpty else { throw TrainingError.noData("the model has no trainable parameters") }
        try objective.prepare(model: model, parameters: trainableParameters)
    }

    /// Trainable parameters by path.
    public var trainableParameters: [(name: String, parameter: Parameter)] { Train.trainableParameters(of: model) }

    /// Trains until the configured epochs or steps are done, early stopping fires or the host
    /// stops it; checkpoints, evaluation and events as configured.
    ///
    /// - Parameters:
    ///   - train: training micro-batches.
    ///   - eval: held-out micro-batches for evaluation and early stopping.
    ///   - checkpoint: a checkpoint directory written by this trainer to resume from; the run then
    ///     continues exactly as an uninterrupted one would.
    ///   - onEvent: called after every step, evaluation and checkpoint; return `.stop` to end.
    public func fit(train: any TrainingBatches, eval: (any TrainingBatches)? = nil, resumingFrom checkpoint: URL? = nil,
                    onEvent: (TrainingEvent) -> TrainingControl = { _ in .proceed }) throws -> TrainingHistory {
        if let checkpoint { try restore(from: checkpoint) }
        var epochBatches = train.batches(epoch: cursor.epoch, seed: configuration.seed)
        guard !epochBatches.isEmpty else { throw TrainingError.noData("the training set produced no batches") }
        let perEpoch = epochBatches.count
        let replicas = communicator.worldSize, rank = communicator.rank
        // Micro-batches per optimizer step, over all replicas.
        let stepSize = configuration.gradientAccumulationSteps * replicas
        let totalSteps = configuration.maxSteps ?? max(1, (configuration.epochs * perEpoch + stepSize - 1) / stepSize)
        let schedule = LearningRateSchedule(peak: configuration.learningRate, warmupSteps: configuration.warmupSteps,
                                            totalSteps: totalSteps, decay: configuration.decay,
                                            minimumRatio: configuration.minimumLearningRateRatio)
        let params = trainableParameters
        let clock = ContinuousClock(), started = clock.now
        history.stopReason = "completed"
        try checkReplicas(stepsPerEpoch: perEpoch, totalSteps: totalSteps)
        var termNames: [String]?  // a composite objective's terms, once known (replicas sum them in this order)

        training: while step < totalSteps {
            let stepStart = clock.now
            // Gather this step's micro-batches, crossing epoch boundaries when needed.
            var micro: [TrainingBatch] = []
            while micro.count < stepSize {
                if cursor.index >= epochBatches.count {
                    if configuration.maxSteps == nil && cursor.epoch + 1 >= configuration.epochs { break }
                    cursor = DataCursor(epoch: cursor.epoch + 1, index: 0)
                    epochBatches = train.batches(epoch: cursor.epoch, seed: configuration.seed)
                    if epochBatches.isEmpty { break }
                }
                micro.append(epochBatches[cursor.index])
                cursor.index += 1
            }
            if micro.isEmpty { break }
            // This replica's share of the step: every worldSize-th micro-batch from its rank on.
            let mine = micro.indices.filter { $0 % replicas == rank }
            var targets = mine.reduce(0) { $0 + micro[$1].targetCount }
            var tokens = mine.reduce(0) { $0 + micro[$1].realTokenCount }
            var namesMissing = 0.0
            if replicas > 1 {
                let computesTerms = mine.contains { micro[$0].targetCount > 0 }
                var counts = [Double(targets), Double(tokens), termNames == nil && !computesTerms ? 1 : 0]
                try communicator.sum(&counts)
                targets = Int(counts[0])
                tokens = Int(counts[1])
                namesMissing = counts[2]
            }
            var gradients: [String: Tensor] = [:]
            var lossSum: Float = 0
            var terms: [String: Float] = [:]
            for i in mine where micro[i].targetCount > 0 {
                let (value, grads) = try lossAndGradients(micro[i], normalizer: Float(targets), parameters: params,
                                                          microBatchIndex: step * stepSize + i)
                lossSum += value.loss.item
                termNames = termNames ?? value.terms.map(\.name)
                for (name, v) in value.terms { terms[name, default: 0] += v }
                for (name, g) in grads { gradients[name] = gradients[name].map { $0 + g } ?? g }
            }
            if replicas > 1 {
                if namesMissing > 0 { termNames = try communicator.agree(on: termNames) }
                let names = termNames ?? []
                var scalars = [Double(lossSum)] + names.map { Double(terms[$0] ?? 0) }
                try reduce(&gradients, parameters: params, scalars: &scalars)
                lossSum = Float(scalars[0])
                terms = names.isEmpty ? [:] : Dictionary(zip(names, scalars.dropFirst().map(Float.init)), uniquingKeysWith: +)
            }
            guard lossSum.isFinite else { throw TrainingError.nonFiniteLoss(step: step + 1, loss: lossSum) }
            let norm = gradientNorm(gradients)
            guard norm.isFinite else { throw TrainingError.nonFiniteLoss(step: step + 1, loss: norm) }
            // Clipping scales the gradients inside the update: no second copy of them.
            let scale = configuration.maxGradientNorm.map { clippingScale(norm: norm, maxNorm: $0) } ?? 1
            let lr = schedule.rate(at: step)
            optimizer.update(params, gradients: gradients, learningRate: lr, gradientScale: scale)
            step += 1
            let seconds = max(1e-9, (clock.now - stepStart).seconds)
            let record = StepRecord(step: step, totalSteps: totalSteps, epoch: cursor.epoch, loss: lossSum, learningRate: lr,
                                    gradientNorm: norm, tokensPerSecond: Double(tokens) / seconds,
                                    elapsed: (clock.now - started).seconds, terms: terms.count > 1 ? terms : [:])
            history.steps.append(record)
            if try agreedControl(onEvent(.step(record))) == .stop { history.stopReason = "stopped by host"; break }

            if let eval, let every = configuration.evaluateEvery, step % every == 0 || step == totalSteps {
                let result = try evaluate(eval)
                history.evaluations.append(result)
                if try agreedControl(onEvent(.evaluation(result))) == .stop { history.stopReason = "stopped by host"; break }
                if shouldStopEarly(after: result) { history.stopReason = "early stopping"; break training }
            }
            if let every = configuration.saveEvery, step % every == 0, let dir = configuration.checkpointDirectory {
                var control = TrainingControl.proceed
                if rank == 0 {
                    let url = try saveCheckpoint(in: URL(fileURLWithPath: dir))
                    control = onEvent(.checkpoint(step: step, path: url.path))
                }
                if try agreedControl(control) == .stop { history.stopReason = "stopped by host"; break }
            }
        }
        if let eval, configuration.evaluateEvery == nil {
            let result = try evaluate(eval)
            history.evaluations.append(result)
            _ = onEvent(.evaluation(result))
        }
        return history
    }

    /// Gradients of the objective on `batch` alone (normalised by its own target count) for every
    /// trainable parameter, by path (no update).
    public func gradients(of batch: TrainingBatch) throws -> [String: Tensor] {
        try lossAndGradients(batch, normalizer: Float(max(1, batch.targetCount)), parameters: trainableParameters,
                             microBatchIndex: 0).1
    }

    /// The objective on `batch` (per-token terms divided by `normalizer`) and the gradients of the
    /// trainable parameters, with block-wise gradient checkpointing when configured.
    func lossAndGradients(_ batch: TrainingBatch, normalizer: Float, parameters: [(name: String, parameter: Parameter)],
                          microBatchIndex: Int) throws -> (ObjectiveValue, [String: Tensor]) {
        try validate(batch)
        return try GradientCheckpointing.$isEnabled.withValue(configuration.gradientCheckpointing) {
            let context = ObjectiveContext(model: model, batch: batch, normalizer: normalizer, parameters: parameters,
                                           microBatchIndex: microBatchIndex)
            let value = try objective.loss(in: context)
            guard value.loss.count == 1 else {
                throw TrainingError.invalidConfiguration("objective \(objective.name) returned shape \(value.loss.shape), not a scalar")
            }
            let grads = value.loss.gradients()
            var out: [String: Tensor] = [:]
            for (name, p) in parameters { if let g = grads[p] { out[name] = g } }
            return (value, out)
        }
    }

    /// Mean token loss, perplexity and token accuracy on `data` (epoch 0 order), without gradients
    /// (``TeacherForcedEvaluator``); with several replicas each scores its share and the sums are
    /// combined, so every replica must call it.
    public func evaluate(_ data: any TrainingBatches) throws -> EvaluationRecord {
        let scores = communicator.worldSize > 1 ? try shardedScores(data)
            : try TeacherForcedEvaluator.evaluate(model, on: data, seed: configuration.seed)
        return EvaluationRecord(step: step, loss: Float(scores.loss), perplexity: Float(scores.perplexity),
                                tokenAccuracy: Float(scores.tokenAccuracy))
    }

    /// Checks a caller's batch: labels aligned with inputs and every target inside the vocabulary.
    func validate(_ batch: TrainingBatch) throws {
        try Train.validate(batch, vocabularySize: model.description.vocabularySize)
    }

    private func shouldStopEarly(after result: EvaluationRecord) -> Bool {
        guard let patience = configuration.earlyStoppingPatience else { return false }
        if result.loss < bestEvalLoss - configuration.earlyStoppingMinDelta {
            bestEvalLoss = result.loss
            evalsWithoutImprovement = 0
            return false
        }
        evalsWithoutImprovement += 1
        return evalsWithoutImprovement >= patience
    }
}

/// Position in the training data: epoch and micro-batch index within it.
struct DataCursor: Codable, Equatable {
    var epoch = 0
    var index = 0
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Train {
    /// Trainable parameters of `model` by path, each once (tied weights appear under their first path).
    static func trainableParameters(of model: any CausalLanguageModel) -> [(name: String, parameter: Parameter)] {
        var seen = Set<ObjectIdentifier>()
        return model.namedParameters().filter { $0.parameter.isTrainable && seen.insert(ObjectIdentifier($0.parameter)).inserted }
    }

    /// Checks a caller's batch: labels aligned with inputs and every target inside the vocabulary.
    static func validate(_ batch: TrainingBatch, vocabularySize v: Int) throws {
        guard batch.labels.count == batch.inputIDs.count else {
            throw TrainingError.invalidBatch("\(batch.labels.count) labels for \(batch.inputIDs.count) tokens")
        }
        guard batch.batchSize >= 1, batch.inputIDs.count % batch.batchSize == 0, batch.lengths.count == batch.batchSize,
              batch.lengths.allSatisfy({ $0 >= 0 && $0 <= batch.sequenceLength }) else {
            throw TrainingError.invalidBatch("\(batch.inputIDs.count) tokens and lengths \(batch.lengths) do not make \(batch.batchSize) equal rows")
        }
        if let bad = batch.labels.first(where: { $0 != TokenizedExample.ignoreIndex && ($0 < 0 || $0 >= v) }) {
            throw TrainingError.invalidBatch("target \(bad) is outside the vocabulary (0..<\(v))")
        }
        for (name, values) in [("positions", batch.positions), ("segment ids", batch.segments)] {
            if let values, values.count != batch.inputIDs.count {
                throw TrainingError.invalidBatch("\(values.count) \(name) for \(batch.inputIDs.count) tokens")
            }
        }
    }
}
