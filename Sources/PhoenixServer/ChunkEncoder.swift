import PhoenixEngine

/// Turns one request's engine events into server-sent events: `data: {chunk}\n\n` per piece of text,
/// a chunk with `finish_reason` per choice, an optional usage chunk, then `data: [DONE]\n\n`.
/// Choices of a request with n > 1 interleave, each chunk naming its `index`.
struct ChunkEncoder: Sendable {
    let envelope: ResponseEnvelope
    let format: any ResponseFormat
    let includeUsage: Bool
    let includeLogprobs: Bool
    /// The frames that start the stream (chat: one per choice announcing the assistant's role).
    let opening: [String]
    private(set) var usage: Usage
    /// Unicode scalars of text sent so far, per choice (for completions' `text_offset`).
    private var textOffsets: [Int: Int] = [:]

    init(envelope: ResponseEnvelope, format: any ResponseFormat, choiceCount: Int, promptTokens: Int,
         includeUsage: Bool, includeLogprobs: Bool) {
        self.envelope = envelope
        self.format = format
        self.includeUsage = includeUsage
        self.includeLogprobs = includeLogprobs
        usage = Usage(promptTokens: promptTokens)
        opening = format.openingChoices(count: choiceCount).map { Self.frame(envelope.json(
            object: format.chunkObjectName, choices: [$0], usage: nil)) }
    }

    /// The frames `event` produces; a token that shows no text yet produces none unless its
    /// log-probabilities were asked for.
    mutating func frames(for event: ServingEvent) -> [String] {
        usage.observe(event)
        switch event {
        case .started:
            return []
        case .token(let choice, let token):
            guard !token.text.isEmpty || includeLogprobs else { return [] }
            return [textFrame(choice: choice, text: token.text, token: token)]
        case .finished(let choice, let reason, let text):
            let heldBack = text.isEmpty ? [] : [textFrame(choice: choice, text: text, token: nil)]
            return heldBack + [chunk(format.finishChoice(index: choice, reason: reason))]
        }
    }

    /// The frames after the last event: the usage chunk when asked for, then `[DONE]`.
    var closing: [String] {
        let usageFrame = includeUsage ? [Self.frame(envelope.json(object: format.chunkObjectName, choices: [], usage: usage))] : []
        return usageFrame + ["data: [DONE]\n\n"]
    }

    /// An error after the stream has started: the status line is long gone, so it travels as an event.
    static func errorFrame(_ error: APIError) -> String { frame(error.body) }

    private mutating func textFrame(choice: Int, text: String, token: TokenOutput?) -> String {
        let offset = textOffsets[choice, default: 0]
        textOffsets[choice] = offset + text.unicodeScalars.count
        return chunk(format.textChoice(index: choice, text: text, token: token, textOffset: offset))
    }

    private func chunk(_ choice: JSONValue) -> String {
        Self.frame(envelope.json(object: format.chunkObjectName, choices: [choice], usage: nil))
    }

    private static func frame(_ value: JSONValue) -> String { "data: \(value.serialized)\n\n" }
}
