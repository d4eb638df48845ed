import PhoenixEngine

/// `/v1/chat/completions`: choices carry `message` (`delta` when streamed), and log-probabilities as
/// `{content: [{token, logprob, bytes, top_logprobs}]}`.
struct ChatCompletionFormat: ResponseFormat {
    let model: any ServedModel
    /// Whether the request asked for log-probabilities (`logprobs` is null otherwise).
    let includeLogprobs: Bool

    var objectName: String { "chat.completion" }
    var chunkObjectName: String { "chat.completion.chunk" }
    var idPrefix: String { "chatcmpl" }

    func choice(index: Int, _ output: ChoiceOutput) -> JSONValue {
        [
            "index": .integer(index),
            "message": ["role": "assistant", "content": .string(output.text)],
            "logprobs": includeLogprobs ? logprobs(output.tokens) : .null,
            "finish_reason": .string(output.finishReason.openAIName),
        ]
    }

    func openingChoices(count: Int) -> [JSONValue] {
        (0..<count).map { index in
            ["index": .integer(index), "delta": ["role": "assistant", "content": ""], "logprobs": .null,
             "finish_reason": .null]
        }
    }

    func textChoice(index: Int, text: String, token: TokenOutput?, textOffset: Int) -> JSONValue {
        [
            "index": .integer(index),
            "delta": ["content": .string(text)],
            "logprobs": includeLogprobs ? token.map { logprobs([$0]) } ?? .null : .null,
            "finish_reason": .null,
        ]
    }

    func finishChoice(index: Int, reason: FinishReason) -> JSONValue {
        ["index": .integer(index), "delta": [:], "logprobs": .null, "finish_reason": .string(reason.openAIName)]
    }

    private func logprobs(_ tokens: [TokenOutput]) -> JSONValue {
        [
            "content": .array(tokens.map { token in
                var entry = entry(id: token.id, logprob: token.logprob)
                entry["top_logprobs"] = .array(token.top.map { .object(self.entry(id: $0.id, logprob: $0.logprob)) })
                return .object(entry)
            }),
            "refusal": .null,
        ]
    }

    private func entry(id: Int, logprob: Float?) -> [String: JSONValue] {
        let bytes = model.tokenBytes(id)
        return [
            "token": .string(String(decoding: bytes, as: UTF8.self)),
            "logprob": logprobJSON(logprob),
            "bytes": .array(bytes.map { .integer(Int($0)) }),
        ]
    }
}
