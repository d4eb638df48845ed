import PhoenixEngine

/// `/v1/completions`: choices carry `text`, and log-probabilities in the legacy shape
/// `{tokens, token_logprobs, top_logprobs, text_offset}`.
struct CompletionFormat: ResponseFormat {
    let model: any ServedModel
    /// Whether the request asked for log-probabilities (`logprobs` is null otherwise).
    let includeLogprobs: Bool

    var objectName: String { "text_completion" }
    var chunkObjectName: String { "text_completion" }
    var idPrefix: String { "cmpl" }

    func choice(index: Int, _ output: ChoiceOutput) -> JSONValue {
        var offset = 0
        var offsets: [Int] = []
        for token in output.tokens {
            offsets.append(offset)
            offset += token.text.unicodeScalars.count
        }
        return [
            "index": .integer(index),
            "text": .string(output.text),
            "logprobs": includeLogprobs ? logprobs(output.tokens, textOffsets: offsets) : .null,
            "finish_reason": .string(output.finishReason.openAIName),
        ]
    }

    func openingChoices(count: Int) -> [JSONValue] { [] }

    func textChoice(index: Int, text: String, token: TokenOutput?, textOffset: Int) -> JSONValue {
        [
            "index": .integer(index),
            "text": .string(text),
            "logprobs": includeLogprobs ? token.map { logprobs([$0], textOffsets: [textOffset]) } ?? .null : .null,
            "finish_reason": .null,
        ]
    }

    func finishChoice(index: Int, reason: FinishReason) -> JSONValue {
        ["index": .integer(index), "text": "", "logprobs": .null, "finish_reason": .string(reason.openAIName)]
    }

    private func logprobs(_ tokens: [TokenOutput], textOffsets: [Int]) -> JSONValue {
        [
            "tokens": .array(tokens.map { .string(model.tokenText($0.id)) }),
            "token_logprobs": .array(tokens.map { logprobJSON($0.logprob) }),
            "top_logprobs": .array(tokens.map { token in
                // Keyed by text, as OpenAI's shape has it: tokens with the same text keep the likelier one.
                var top: [String: JSONValue] = [:]
                for candidate in token.top.reversed() { top[model.tokenText(candidate.id)] = logprobJSON(candidate.logprob) }
                return .object(top)
            }),
            "text_offset": .array(textOffsets.map(JSONValue.integer)),
        ]
    }
}
