import PhoenixEngine

/// Token counts as OpenAI's `usage` reports them.
struct Usage: Sendable, Equatable {
    var promptTokens: Int
    var cachedTokens = 0
    var completionTokens = 0

    /// Counts from the engine: the prompt as admitted, and every token of every choice.
    mutating func observe(_ event: ServingEvent) {
        switch event {
        case .started(let prompt, let cached):
            promptTokens = prompt
            cachedTokens = cached
        case .token: completionTokens += 1
        case .finished: break
        }
    }

    var json: JSONValue {
        [
            "prompt_tokens": .integer(promptTokens),
            "completion_tokens": .integer(completionTokens),
            "total_tokens": .integer(promptTokens + completionTokens),
            "prompt_tokens_details": ["cached_tokens": .integer(cachedTokens)],
        ]
    }
}
