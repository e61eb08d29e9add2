import Tailor

extension OpenAISampling {
    /// The generation settings these fields ask for, with OpenAI's defaults (temperature 1, top_p 1,
    /// no top-k, no penalties) and ranges; throws a 400 ``OpenAIError`` naming the bad field.
    func generationConfig(defaultMaxTokens: Int) throws -> GenerationConfig {
        let maxTokens = maxCompletionTokens ?? self.maxTokens ?? defaultMaxTokens
        guard maxTokens >= 1 else { throw OpenAIError.invalidValue("max_tokens must be at least 1, got \(maxTokens)", param: "max_tokens") }
        let temperature = temperature ?? 1
        guard (0...2).contains(temperature) else {
            throw OpenAIError.invalidValue("temperature must be between 0 and 2, got \(temperature)", param: "temperature")
        }
        let topP = topP ?? 1
        guard topP > 0, topP <= 1 else { throw OpenAIError.invalidValue("top_p must be in (0, 1], got \(topP)", param: "top_p") }
        let topK = topK ?? 0
        guard topK >= 0 else { throw OpenAIError.invalidValue("top_k must be ≥ 0, got \(topK)", param: "top_k") }
        let presence = presencePenalty ?? 0, frequency = frequencyPenalty ?? 0
        guard (-2...2).contains(presence) else {
            throw OpenAIError.invalidValue("presence_penalty must be between -2 and 2, got \(presence)", param: "presence_penalty")
        }
        guard (-2...2).contains(frequency) else {
            throw OpenAIError.invalidValue("frequency_penalty must be between -2 and 2, got \(frequency)", param: "frequency_penalty")
        }
        let stops = (stop?.values ?? []).filter { !$0.isEmpty }
        guard stops.count <= 16 else { throw OpenAIError.invalidValue("at most 16 stop strings, got \(stops.count)", param: "stop") }
        return GenerationConfig(maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
                                frequencyPenalty: frequency, presencePenalty: presence,
                                seed: seed.map { UInt64(bitPattern: $0) }, stopStrings: stops)
    }

    /// How many alternatives each generated token's log-probabilities list, or nil when the request
    /// asks for none, by OpenAI's rules per endpoint; throws a 400 ``OpenAIError`` naming the bad field.
    ///
    /// - Completions: `logprobs` is an integer 0…5 (null or absent: off; `false` is taken as off). With
    ///   0 each token still gets its log-probability, and its `top_logprobs` entry holds only the
    ///   sampled token (as vLLM does); with N > 0 it holds the N most probable tokens plus the sampled
    ///   one when that is not among them (as OpenAI documents: up to N + 1 entries).
    /// - Chat: `logprobs` is a boolean, and `top_logprobs` an integer 0…20 that needs `logprobs: true`
    ///   (absent: 0, an empty `top_logprobs` list per token).
    func logprobsCount(for kind: CompletionKind) throws -> Int? {
        switch kind {
        case .text:
            switch logprobs {
            case nil, .flag(false): return nil
            case .flag(true):
                throw OpenAIError.invalidValue("logprobs must be an integer between 0 and 5 for completions", param: "logprobs")
            case .count(let n):
                guard (0...5).contains(n) else {
                    throw OpenAIError.invalidValue("logprobs must be between 0 and 5, got \(n)", param: "logprobs")
                }
                return n
            }
        case .chat:
            let top = topLogprobs?.value
            switch logprobs {
            case .count:
                throw OpenAIError.invalidValue("logprobs must be a boolean for chat completions (see top_logprobs)",
                                               param: "logprobs")
            case nil, .flag(false):
                guard top == nil else {
                    throw OpenAIError.invalidValue("top_logprobs needs logprobs to be true", param: "top_logprobs")
                }
                return nil
            case .flag(true):
                let n = top ?? 0
                guard (0...20).contains(n) else {
                    throw OpenAIError.invalidValue("top_logprobs must be between 0 and 20, got \(n)", param: "top_logprobs")
                }
                return n
            }
        }
    }

    /// OpenAI's `n` (default 1).
    var choices: Int { n ?? 1 }
}
