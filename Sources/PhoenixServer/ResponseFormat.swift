import PhoenixEngine

/// How one endpoint writes its results: the JSON of a whole response's choices and of each streamed
/// chunk's. `CompletionFormat` and `ChatCompletionFormat` differ only in these shapes.
protocol ResponseFormat: Sendable {
    /// `object` of a whole response: "text_completion" or "chat.completion".
    var objectName: String { get }
    /// `object` of a streamed chunk.
    var chunkObjectName: String { get }
    /// The prefix of response ids: "cmpl" or "chatcmpl".
    var idPrefix: String { get }
    /// One choice of a whole response.
    func choice(index: Int, _ output: ChoiceOutput) -> JSONValue
    /// The chunk choices that open a stream, before any token (chat announces the assistant's role).
    func openingChoices(count: Int) -> [JSONValue]
    /// A chunk choice carrying `text`, and `token`'s log-probabilities when they were asked for.
    /// `textOffset` is where `text` starts in the choice's text, in Unicode scalars.
    func textChoice(index: Int, text: String, token: TokenOutput?, textOffset: Int) -> JSONValue
    /// The chunk choice that ends choice `index`.
    func finishChoice(index: Int, reason: FinishReason) -> JSONValue
}

/// What a whole response or a chunk carries besides its choices.
struct ResponseEnvelope: Sendable {
    var id: String
    var created: Int
    var model: String

    func json(object: String, choices: [JSONValue], usage: Usage?) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "object": .string(object), "created": .integer(created), "model": .string(model),
            "choices": .array(choices),
        ]
        if let usage { members["usage"] = usage.json }
        return .object(members)
    }
}

/// Log-probabilities as JSON numbers: -inf (a token the model rules out) becomes -9999, as OpenAI writes it.
func logprobJSON(_ value: Float?) -> JSONValue {
    guard let value else { return .null }
    return .number(value.isFinite ? Double(value) : -9999)
}
