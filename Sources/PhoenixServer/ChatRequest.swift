import PhoenixEngine

/// A `POST /v1/chat/completions` body, checked.
struct ChatRequest: Sendable {
    var messages: [ChatMessage]
    var parameters: GenerationParameters
    /// nil: no log-probabilities; k: the chosen token's and the k most likely tokens' (0...20).
    var logprobs: Int?

    static let memberNames = GenerationParameters.sharedNames.union(
        ["messages", "max_completion_tokens", "logprobs", "top_logprobs"])
    static let maxTopLogprobs = 20

    init(_ fields: RequestFields, model: some ServedModel) throws {
        try fields.rejectUnknown(allowing: Self.memberNames)
        parameters = try GenerationParameters(fields, maxTokensLimit: model.contextLength)
        // The newer name wins when a client sends both.
        if let maxTokens = try fields.integer("max_completion_tokens", in: 1...max(1, model.contextLength)) {
            parameters.maxTokens = maxTokens
        }
        let wantsLogprobs = try fields.bool("logprobs") ?? false
        let topLogprobs = try fields.integer("top_logprobs", in: 0...Self.maxTopLogprobs)
        if topLogprobs != nil && !wantsLogprobs {
            throw APIError.outOfRange("top_logprobs", "top_logprobs needs logprobs set to true")
        }
        logprobs = wantsLogprobs ? (topLogprobs ?? 0) : nil
        messages = try Self.messages(fields)
    }

    /// `messages`: a non-empty array of `{role, content}`; content is a string or an array of text parts,
    /// joined with newlines.
    private static func messages(_ fields: RequestFields) throws -> [ChatMessage] {
        guard let value = fields.value("messages") else {
            throw APIError.invalidRequest("You must provide messages.", param: "messages", code: "missing_required_parameter")
        }
        guard case .array(let elements) = value else {
            throw APIError.wrongType("messages", expected: "an array", got: value)
        }
        guard !elements.isEmpty else { throw APIError.outOfRange("messages", "the array of messages is empty") }
        return try elements.enumerated().map { index, element in
            let path = "messages[\(index)]"
            guard case .object(let members) = element else {
                throw APIError.wrongType(path, expected: "an object", got: element)
            }
            let message = RequestFields(members: members, path: path)
            try message.rejectUnknown(allowing: ["role", "content", "name"])
            _ = try message.string("name")  // accepted for compatibility; chat formats have no place for it
            guard let roleName = try message.string("role") else {
                throw APIError.invalidRequest("Missing required parameter: '\(path).role'.", param: "\(path).role",
                                              code: "missing_required_parameter")
            }
            return ChatMessage(try role(roleName, path: "\(path).role"), try content(message))
        }
    }

    /// OpenAI's newer `developer` role is the system role under another name.
    private static func role(_ name: String, path: String) throws -> ChatMessage.Role {
        if name == "developer" { return .system }
        guard let role = ChatMessage.Role(rawValue: name) else {
            throw APIError.outOfRange(path, "the role must be system, user or assistant, got '\(name)'")
        }
        return role
    }

    private static func content(_ message: RequestFields) throws -> String {
        let path = message.qualified("content")
        guard let value = message.value("content") else {
            throw APIError.invalidRequest("Missing required parameter: '\(path)'.", param: path,
                                          code: "missing_required_parameter")
        }
        switch value {
        case .string(let text):
            return text
        case .array(let parts):
            return try parts.enumerated().map { index, part in
                let partPath = "\(path)[\(index)]"
                guard case .object(let members) = part else {
                    throw APIError.wrongType(partPath, expected: "an object", got: part)
                }
                let fields = RequestFields(members: members, path: partPath)
                try fields.rejectUnknown(allowing: ["type", "text"])
                guard try fields.string("type") == "text" else {
                    throw APIError.outOfRange("\(partPath).type", "only parts of type 'text' are supported")
                }
                guard let text = try fields.string("text") else {
                    throw APIError.invalidRequest("Missing required parameter: '\(partPath).text'.",
                                                  param: "\(partPath).text", code: "missing_required_parameter")
                }
                return text
            }.joined(separator: "\n")  // as vLLM joins them
        default:
            throw APIError.wrongType(path, expected: "a string or an array of text parts", got: value)
        }
    }
}
