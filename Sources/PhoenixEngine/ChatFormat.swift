/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// The chat formats Phoenix recognises in a model's `tokenizer.chat_template`.
///
/// GGUF files carry the template as Jinja source; rather than interpret Jinja, Phoenix recognises the
/// few families in common use by their marker tokens and renders them directly. A template it does not
/// recognise is reported, and the caller falls back to plain continuation.
public enum ChatFormat: String, Sendable, CaseIterable {
    /// Gemma: `<start_of_turn>user\n…<end_of_turn>\n`, the model's turn named `model`; no system role
    /// (a system message is prepended to the first user turn, as Gemma's template does).
    case gemma
    /// ChatML (Qwen and others): `<|im_start|>role\n…<|im_end|>\n`.
    case chatML
    /// Llama 3: `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`.
    case llama3

    /// The format a template belongs to, or nil when it is none Phoenix knows.
    public init?(template: String) {
        if template.contains("<start_of_turn>") { self = .gemma }
        else if template.contains("<|im_start|>") { self = .chatML }
        else if template.contains("<|start_header_id|>") { self = .llama3 }
        else { return nil }
    }

    /// The prompt for `messages`, ending with the opening of the assistant's turn. Special tokens in it
    /// must be parsed as special (`GenerateOptions.parseSpecialTokens`); BOS is added by the tokenizer.
    public func render(_ messages: [ChatMessage]) -> String {
        switch self {
        case .gemma:
            var text = "", pendingSystem: String?
            for message in messages {
                switch message.role {
                case .system: pendingSystem = message.content
                case .user:
                    let content = pendingSystem.map { $0 + "\n\n" + message.content } ?? message.content
                    pendingSystem = nil
                    text += "<start_of_turn>user\n\(content)<end_of_turn>\n"
                case .assistant: text += "<start_of_turn>model\n\(message.content)<end_of_turn>\n"
                }
            }
            return text + "<start_of_turn>model\n"
        case .chatML:
            return messages.map { "<|im_start|>\($0.role.rawValue)\n\($0.content)<|im_end|>\n" }.joined()
                + "<|im_start|>assistant\n"
        case .llama3:
            return messages.map { "<|start_header_id|>\($0.role.rawValue)<|end_header_id|>\n\n\($0.content)<|eot_id|>" }.joined()
                + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        }
    }
}
