import PhoenixEngine

extension FinishReason {
    /// OpenAI's two reasons: the model or a stop string ended the text, or a limit cut it.
    var openAIName: String {
        switch self {
        case .endOfGeneration, .stopString, .cancelled: "stop"
        case .length, .contextFull: "length"
        }
    }
}
