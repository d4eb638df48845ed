/// Everything a generation needs besides the prompt. The CLI's `generate` flags map onto it one to one.
public struct GenerateOptions: Sendable, Equatable {
    /// Stop after this many new tokens (at least 1).
    public var maxTokens: Int = 128
    public var sampling: SamplingParameters = .greedy
    /// Stop when the generated text contains one of these; the stop string itself is not returned.
    public var stopStrings: [String] = []
    /// Add BOS before the prompt; nil follows the model's metadata.
    public var addBOS: Bool?
    /// Recognise special-token text such as `<start_of_turn>` in the prompt (chat templates need it).
    public var parseSpecialTokens = false

    public init() {}

    public func validate() throws {
        guard maxTokens >= 1 else {
            throw EngineError.invalidParameter("max tokens must be at least 1, got \(maxTokens)")
        }
        guard !stopStrings.contains("") else { throw EngineError.invalidParameter("a stop string is empty") }
        try sampling.validate()
    }
}

/// Why a generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// The token limit was reached.
    case length
    /// The model produced an end-of-generation token.
    case endOfGeneration = "eos"
    /// A stop string appeared.
    case stopString = "stop"
    /// The context is full.
    case contextFull = "context"
    /// The consumer stopped listening.
    case cancelled
}

/// Speed of one generation.
public struct GenerationTimings: Sendable, Codable, Equatable {
    public var promptTokens = 0
    public var generatedTokens = 0
    public var prefillSeconds = 0.0
    public var decodeSeconds = 0.0

    /// Prompt tokens per second of prefill.
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0 }
    /// Generated tokens per second, counting from the first token after the prompt.
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 ? Double(max(0, generatedTokens - 1)) / decodeSeconds : 0
    }
}

/// What a generation streams.
public enum GenerationEvent: Sendable, Equatable {
    /// A new token and the text it completes (empty while a character or a possible stop string is held back).
    case token(id: Int, text: String)
    /// Text held back until the end (an incomplete character, or a prefix of a stop string that never completed).
    case text(String)
    case finished(FinishReason, GenerationTimings)
}

/// A whole generation, for callers that do not stream.
public struct GenerationResult: Sendable, Equatable {
    public var promptIDs: [Int]
    public var tokens: [Int]
    public var text: String
    public var finishReason: FinishReason
    public var timings: GenerationTimings
}
