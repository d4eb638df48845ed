import PhoenixTokenizer

/// Turns sampled tokens into the text a client sees: whole characters only, and nothing that might
/// still turn out to be the start of a stop string.
struct GeneratedText: Sendable {
    private var decoder: StreamingDecoder
    private var filter: StopStringFilter

    init(_ tokenizer: Tokenizer, stops: [String]) {
        decoder = tokenizer.streamingDecoder()
        filter = StopStringFilter(stops: stops)
    }

    /// The text a new token makes visible, and whether it completed a stop string (then generation ends
    /// and the stop string itself is never shown).
    mutating func append(_ token: Int) throws -> (text: String, stopped: Bool) {
        let visible = filter.push(try decoder.append(token))
        return (visible, filter.stopped)
    }

    /// All the text shown so far.
    var emitted: String { filter.emitted }

    /// Whatever was held back, at the end of generation.
    mutating func finish() -> String {
        let rest = filter.push(decoder.finish())
        return rest + filter.flush()
    }
}
