import PhoenixEngine

/// What the server needs from a model besides its `ServingBackend`: turning prompts and conversations into
/// token ids, and token ids back into text for log-probabilities. `LoadedModel` is the real one; tests use
/// a small fake vocabulary.
public protocol ServedModel: Sendable {
    /// The name clients pass as `model` unless the server is told another.
    var name: String { get }
    /// Token ids are checked against this before they reach the engine.
    var vocabularySize: Int { get }
    /// Most positions the model was trained for; `max_tokens` above it is refused outright.
    var contextLength: Int { get }
    /// A `/v1/completions` prompt: plain text, BOS added when the model's metadata says so, special-token
    /// text left as text (a client's prompt must not smuggle in control tokens).
    func encodeCompletionPrompt(_ text: String) -> [Int]
    /// A `/v1/chat/completions` conversation rendered with the model's chat format and encoded with its
    /// special tokens parsed. May throw `ServingError.invalidRequest` when it cannot be rendered.
    func encodeChat(_ messages: [ChatMessage]) throws -> [Int]
    /// The bytes a token stands for, as reported in log-probabilities (empty for control tokens).
    func tokenBytes(_ id: Int) -> [UInt8]
}

extension ServedModel {
    /// A token's text for log-probabilities; a token holding part of a character shows U+FFFD.
    func tokenText(_ id: Int) -> String { String(decoding: tokenBytes(id), as: UTF8.self) }
}
