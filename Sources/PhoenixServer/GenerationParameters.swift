import PhoenixEngine

/// What `/v1/completions` and `/v1/chat/completions` share besides the prompt, checked and in the
/// engine's terms.
struct GenerationParameters: Sendable {
    /// The model the client asked for; nil means the one this server serves.
    var model: String?
    /// nil: the endpoint's default.
    var maxTokens: Int?
    var sampling = SamplingParameters()
    var stopStrings: [String] = []
    var n = 1
    var stream = false
    /// Send a last chunk with token counts (`stream_options.include_usage`).
    var includeUsage = false
    var ignoreEOS = false

    /// The members both endpoints accept (the endpoint adds its own).
    static let sharedNames: Set<String> = [
        "model", "max_tokens", "temperature", "top_p", "stop", "seed", "n", "stream", "stream_options",
        "presence_penalty", "frequency_penalty", "user",
        // Extensions that llama.cpp and vLLM accept too.
        "top_k", "min_p", "repetition_penalty", "ignore_eos",
    ]

    /// Most stop strings a request may give, as OpenAI allows.
    static let maxStopStrings = 4
    /// Most choices per request: each is a sequence in the batch.
    static let maxChoices = 16

    /// Reads the shared members; `maxTokensLimit` is the model's context length.
    init(_ fields: RequestFields, maxTokensLimit: Int) throws {
        model = try fields.string("model")
        maxTokens = try fields.integer("max_tokens", in: 1...max(1, maxTokensLimit))
        if let temperature = try fields.number("temperature", in: 0...2) { sampling.temperature = Float(temperature) }
        if let topP = try fields.number("top_p", "expected a number greater than 0 and at most 1", where: { $0 > 0 && $0 <= 1 }) {
            sampling.topP = Float(topP)
        }
        // -1 is how vLLM and llama.cpp clients spell "no top-k"; 0 is Phoenix's.
        if let topK = try fields.integer("top_k", in: -1...Int(Int32.max)) { sampling.topK = max(0, topK) }
        if let minP = try fields.number("min_p", in: 0...1) { sampling.minP = Float(minP) }
        if let penalty = try fields.number("repetition_penalty", "expected a number greater than 0 and at most 10",
                                           where: { $0 > 0 && $0 <= 10 }) {
            sampling.repetitionPenalty = Float(penalty)
        }
        if let penalty = try fields.number("presence_penalty", in: -2...2) { sampling.presencePenalty = Float(penalty) }
        if let penalty = try fields.number("frequency_penalty", in: -2...2) { sampling.frequencyPenalty = Float(penalty) }
        // A negative seed is a valid integer to a client; its bit pattern is as good a seed as any.
        if let seed = try fields.integer("seed") { sampling.seed = UInt64(bitPattern: Int64(seed)) }
        stopStrings = try Self.stopStrings(fields)
        n = try fields.integer("n", in: 1...Self.maxChoices) ?? 1
        stream = try fields.bool("stream") ?? false
        if let options = try fields.object("stream_options") {
            try options.rejectUnknown(allowing: ["include_usage"])
            includeUsage = try options.bool("include_usage") ?? false
        }
        ignoreEOS = try fields.bool("ignore_eos") ?? false
        _ = try fields.string("user")  // accepted for compatibility; only its type is checked
    }

    /// `stop`: one string or an array of up to four, none empty.
    private static func stopStrings(_ fields: RequestFields) throws -> [String] {
        guard let value = fields.value("stop") else { return [] }
        let strings: [String]
        switch value {
        case .string(let text): strings = [text]
        case .array(let elements):
            strings = try elements.map { element in
                guard case .string(let text) = element else {
                    throw APIError.wrongType("stop", expected: "a string or an array of strings", got: element)
                }
                return text
            }
        default: throw APIError.wrongType("stop", expected: "a string or an array of strings", got: value)
        }
        guard strings.count <= maxStopStrings else {
            throw APIError.outOfRange("stop", "at most \(maxStopStrings) stop strings are allowed, got \(strings.count)")
        }
        guard !strings.contains("") else { throw APIError.outOfRange("stop", "a stop string is empty") }
        return strings
    }

    /// The engine request for `promptIDs` with these parameters; `defaultMaxTokens` applies when the
    /// client gave none.
    func servingRequest(promptIDs: [Int], defaultMaxTokens: Int, logprobs: Int?) -> ServingRequest {
        var request = ServingRequest(promptIDs: promptIDs)
        request.maxTokens = maxTokens ?? max(1, defaultMaxTokens)
        request.sampling = sampling
        request.stopStrings = stopStrings
        request.n = n
        request.logprobs = logprobs
        request.ignoreEOS = ignoreEOS
        return request
    }
}
