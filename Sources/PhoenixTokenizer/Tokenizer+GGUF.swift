import PhoenixGGUF

extension TokenizerVocabulary {
    /// Reads `tokenizer.ggml.*`. Missing optional keys take llama.cpp's defaults; a key of the wrong
    /// type throws `GGUFError` naming it, and an unknown model name throws `TokenizerError`.
    public init(_ meta: GGUFMetadata) throws {
        let name = try meta.string("tokenizer.ggml.model")
        guard let model = TokenizerModel(rawValue: name) else { throw TokenizerError.unsupportedModel(name) }
        self.init(model: model, tokens: try meta.stringArray("tokenizer.ggml.tokens"))
        preTokenizer = try meta.string("tokenizer.ggml.pre", default: "default")
        if meta.contains("tokenizer.ggml.scores") { scores = try meta.floatArray("tokenizer.ggml.scores") }
        if meta.contains("tokenizer.ggml.token_type") { tokenTypes = try meta.intArray("tokenizer.ggml.token_type") }
        if meta.contains("tokenizer.ggml.merges") { merges = try meta.stringArray("tokenizer.ggml.merges") }
        func id(_ key: String) throws -> Int? {
            let value = try meta.int("tokenizer.ggml.\(key)", default: -1)
            return value >= 0 ? value : nil
        }
        bosID = try id("bos_token_id")
        eosID = try id("eos_token_id")
        unknownID = try id("unknown_token_id")
        paddingID = try id("padding_token_id")
        // llama.cpp's defaults when the file is silent: SentencePiece adds BOS, byte-level BPE only
        // for Llama 3's pre-tokenizer; neither adds EOS.
        let bosByDefault = model == .llama || (try? PreTokenizer(name: preTokenizer)) == .llama3
        addBOS = try meta.bool("tokenizer.ggml.add_bos_token", default: bosByDefault)
        addEOS = try meta.bool("tokenizer.ggml.add_eos_token", default: false)
        addSpacePrefix = try meta.bool("tokenizer.ggml.add_space_prefix", default: model == .llama)
    }
}

extension Tokenizer {
    /// The tokenizer a GGUF file describes.
    public init(_ meta: GGUFMetadata) throws {
        try self.init(TokenizerVocabulary(meta))
    }

    /// Opens `path` (memory-mapped) and builds its tokenizer.
    public init(path: String) throws {
        try self.init(GGUFFile(path: path).metadata)
    }
}
