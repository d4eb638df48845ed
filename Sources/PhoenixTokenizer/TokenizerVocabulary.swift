/// What a GGUF file says about its tokenizer, as plain arrays: `tokenizer.ggml.*` without the container.
/// Tests build tiny ones in code; `TokenizerVocabulary(_ meta:)` reads one from GGUF metadata.
/// Nothing is checked here; `Tokenizer.init` validates and throws `TokenizerError`.
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`: `.llama` (SentencePiece-style) or `.gpt2` (byte-level BPE).
    public var model: TokenizerModel
    /// `tokenizer.ggml.pre`: the pre-tokenizer split for `.gpt2`; ignored by `.llama`.
    public var preTokenizer: String = "default"
    /// `tokenizer.ggml.tokens`: token texts as stored (`▁` for space in `.llama`, byte-level unicode in `.gpt2`).
    public var tokens: [String]
    /// `tokenizer.ggml.scores`: merge priority for `.llama` (higher merges first); may be empty for `.gpt2`.
    public var scores: [Float] = []
    /// `tokenizer.ggml.token_type` as raw GGUF numbers (see `TokenType`); empty means all normal.
    public var tokenTypes: [Int] = []
    /// `tokenizer.ggml.merges`: "left right" lines in rank order (`.gpt2` only).
    public var merges: [String] = []
    public var bosID: Int? = nil
    public var eosID: Int? = nil
    public var unknownID: Int? = nil
    public var paddingID: Int? = nil
    public var addBOS: Bool = true
    public var addEOS: Bool = false
    /// `tokenizer.ggml.add_space_prefix`: prepend a space to the text (`.llama` only).
    public var addSpacePrefix: Bool = true

    public init(model: TokenizerModel, tokens: [String]) {
        self.model = model
        self.tokens = tokens
    }
}

/// `tokenizer.ggml.model`; raw values are GGUF's spelling.
public enum TokenizerModel: String, Sendable {
    case llama  // SentencePiece-style: score-driven merges over characters, byte fallback
    case gpt2   // byte-level BPE: ranked merges over bytes mapped to unicode
}

/// `tokenizer.ggml.token_type`. Raw values are the GGUF numbers: part of the file format, never renumbered.
public enum TokenType: Int, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
