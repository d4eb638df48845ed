import PhoenixEngine

/// A `POST /v1/completions` body, checked.
struct CompletionRequest: Sendable {
    enum Prompt: Sendable, Equatable {
        case text(String)
        case tokenIDs([Int])
    }

    var prompt: Prompt
    var parameters: GenerationParameters
    /// nil: no log-probabilities; k: the chosen token's and the k most likely tokens' (0...5).
    var logprobs: Int?

    static let memberNames = GenerationParameters.sharedNames.union(["prompt", "logprobs"])
    static let maxLogprobs = 5

    init(_ fields: RequestFields, model: some ServedModel) throws {
        try fields.rejectUnknown(allowing: Self.memberNames)
        parameters = try GenerationParameters(fields, maxTokensLimit: model.contextLength)
        logprobs = try fields.integer("logprobs", in: 0...Self.maxLogprobs)
        prompt = try Self.prompt(fields, vocabularySize: model.vocabularySize)
    }

    /// `prompt`: a string, an array of token ids, or an array holding one string. Several prompts in
    /// one request are refused: send one request per prompt.
    private static func prompt(_ fields: RequestFields, vocabularySize: Int) throws -> Prompt {
        let expected = "a string, an array of token ids or an array of one string"
        guard let value = fields.value("prompt") else {
            throw APIError.invalidRequest("You must provide a prompt.", param: "prompt", code: "missing_required_parameter")
        }
        switch value {
        case .string(let text):
            return .text(text)
        case .array(let elements) where elements.isEmpty:
            throw APIError.outOfRange("prompt", "the prompt is an empty array")
        case .array(let elements):
            if case .string(let text) = elements[0] {
                guard elements.count == 1 else {
                    throw APIError.outOfRange("prompt", "one prompt per request is supported, got \(elements.count)")
                }
                return .text(text)
            }
            let ids = try elements.enumerated().map { index, element -> Int in
                guard case .integer(let id) = element else {
                    throw APIError.wrongType("prompt[\(index)]", expected: "a token id", got: element)
                }
                guard id >= 0 && id < vocabularySize else {
                    throw APIError.outOfRange("prompt[\(index)]", "token id \(id) is not in the vocabulary of \(vocabularySize) tokens")
                }
                return id
            }
            return .tokenIDs(ids)
        default:
            throw APIError.wrongType("prompt", expected: expected, got: value)
        }
    }

    /// The prompt's token ids.
    func promptIDs(model: some ServedModel) throws -> [Int] {
        let ids: [Int]
        switch prompt {
        case .text(let text): ids = model.encodeCompletionPrompt(text)
        case .tokenIDs(let tokenIDs): ids = tokenIDs
        }
        guard !ids.isEmpty else {
            throw APIError.outOfRange("prompt", "the prompt is empty and the model adds no BOS token")
        }
        return ids
    }
}
