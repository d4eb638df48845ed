import PhoenixEngine

/// One choice of a finished (non-streamed) generation: its text, its tokens and why it ended.
struct ChoiceOutput: Sendable {
    var text = ""
    var tokens: [TokenOutput] = []
    var finishReason: FinishReason = .length
}

/// A whole generation gathered from the engine's events, for a response that is not streamed.
struct GenerationOutput: Sendable {
    var choices: [ChoiceOutput]
    var usage: Usage
    var timing: TokenTiming

    /// Reads `events` to the end; `arrival` is when the request came in, for the timing figures.
    static func collect(_ events: AsyncThrowingStream<ServingEvent, any Error>, choiceCount: Int, promptTokens: Int,
                        arrival: ContinuousClock.Instant) async throws -> GenerationOutput {
        var output = GenerationOutput(choices: Array(repeating: ChoiceOutput(), count: choiceCount),
                                      usage: Usage(promptTokens: promptTokens), timing: TokenTiming(arrival: arrival))
        for try await event in events {
            output.timing.observe(event)
            output.usage.observe(event)
            switch event {
            case .started: break
            case .token(let choice, let token) where output.choices.indices.contains(choice):
                output.choices[choice].text += token.text
                output.choices[choice].tokens.append(token)
            case .finished(let choice, let reason, let text) where output.choices.indices.contains(choice):
                output.choices[choice].text += text
                output.choices[choice].finishReason = reason
            case .token, .finished: break  // a choice the request did not ask for: nothing to report it in
            }
        }
        return output
    }
}
