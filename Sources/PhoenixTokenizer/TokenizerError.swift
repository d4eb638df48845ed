/// Everything that can go wrong building a tokenizer or using one. Each case names what was wrong,
/// so a bad GGUF file or a bad id reads as one line of text.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `tokenizer.ggml.model` names a tokenizer this module does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this module does not implement.
    case unsupportedPreTokenizer(String)
    /// The vocabulary has no tokens.
    case emptyVocabulary
    /// A per-token array (`scores`, `token_type`) has a different length from `tokens`.
    case arrayLengthMismatch(name: String, count: Int, tokenCount: Int)
    /// A special-token id (`bos`, `eos`, ...) or a token type lies outside the vocabulary.
    case invalidSpecialToken(name: String, id: Int, tokenCount: Int)
    /// A token type number that GGUF does not define.
    case invalidTokenType(index: Int, value: Int)
    /// A `gpt2` merge line that is not two tokens separated by one space.
    case malformedMerge(index: Int, text: String)
    /// A merge naming a token, or producing a token, that the vocabulary lacks.
    case mergeNamesUnknownToken(index: Int, token: String)
    /// A `gpt2` vocabulary without merges.
    case missingMerges
    /// Bytes that are not valid UTF-8, with the offset of the first bad byte.
    case invalidUTF8(offset: Int)
    /// A token id handed to the decoder that is not in `0..<tokenCount`.
    case tokenOutOfRange(id: Int, tokenCount: Int)

    public var description: String {
        switch self {
        case .unsupportedModel(let name): "unsupported tokenizer model '\(name)' (supported: llama, gpt2)"
        case .unsupportedPreTokenizer(let name):
            "unsupported pre-tokenizer '\(name)' (supported: \(PreTokenizer.supportedNames.joined(separator: ", ")))"
        case .emptyVocabulary: "the vocabulary has no tokens"
        case .arrayLengthMismatch(let name, let count, let tokenCount):
            "tokenizer array '\(name)' has \(count) entries but there are \(tokenCount) tokens"
        case .invalidSpecialToken(let name, let id, let tokenCount):
            "special token '\(name)' has id \(id), outside the vocabulary of \(tokenCount) tokens"
        case .invalidTokenType(let index, let value): "token \(index) has undefined token type \(value)"
        case .malformedMerge(let index, let text): "merge \(index) is not two tokens separated by a space: '\(text)'"
        case .mergeNamesUnknownToken(let index, let token): "merge \(index) names unknown token '\(token)'"
        case .missingMerges: "a gpt2 (byte-level BPE) vocabulary needs merges"
        case .invalidUTF8(let offset): "input is not valid UTF-8 (first bad byte at offset \(offset))"
        case .tokenOutOfRange(let id, let tokenCount): "token id \(id) is outside the vocabulary (0..<\(tokenCount))"
        }
    }
}
