import Tailor

extension OpenAISampling {
    /// The generation settings these fields ask for, with OpenAI's defaults (temperature 1, top_p 1,
    /// no top-k, no penalties) and ranges; throws a 400 ``OpenAIError`` naming the bad field.
    func generationConfig(defaultMaxTokens: Int) throws -> GenerationConfig {
        if logprobs?.requested == true { throw OpenAIError.invalidValue("logprobs are not supported", param: "logprobs") }
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

    /// OpenAI's `n` (default 1).
    var choices: Int { n ?? 1 }
}
