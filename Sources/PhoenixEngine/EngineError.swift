/// Why a generation could not start or had to stop.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidParameter(String)
    case promptTooLong(tokens: Int, context: Int)
    case emptyPrompt
    case busy
    case textTooShort(tokens: Int, needed: Int)

    public var description: String {
        switch self {
        case .invalidParameter(let message): message
        case .promptTooLong(let tokens, let context):
            "the prompt has \(tokens) tokens, more than the context of \(context) allows (raise --context or shorten the prompt)"
        case .emptyPrompt: "the prompt is empty and the model adds no BOS token: nothing to continue from"
        case .busy: "this context is already generating; use one context per concurrent generation"
        case .textTooShort(let tokens, let needed):
            "the text has \(tokens) tokens; perplexity with this context needs at least \(needed)"
        }
    }
}
