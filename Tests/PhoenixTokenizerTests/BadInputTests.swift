import PhoenixGGUF
import PhoenixTokenizer
import Testing

/// Malformed vocabularies and inputs throw an error that says what is wrong; nothing traps.
@Suite struct BadInputTests {
    @Test func invalidUTF8() throws {
        let t = try SentencePieceTests.tiny()
        #expect(throws: TokenizerError.invalidUTF8(offset: 1)) { try t.encode(utf8: [0x61, 0xFF, 0x62]) }
        #expect(throws: TokenizerError.invalidUTF8(offset: 2)) { try t.encode(utf8: [0x61, 0x62, 0xE2, 0x96]) }
        #expect(throws: TokenizerError.invalidUTF8(offset: 0)) { try t.encode(utf8: [0xED, 0xA0, 0x80]) }  // surrogate
        #expect(try t.encode(utf8: Array("ab".utf8), addSpecial: false) == [9])
    }

    @Test func arraysOfDifferentLengths() {
        var vocabulary = TokenizerVocabulary(model: .llama, tokens: ["a", "b", "c"])
        vocabulary.scores = [0, 0]
        #expect(throws: TokenizerError.arrayLengthMismatch(name: "scores", count: 2, tokenCount: 3)) {
            try Tokenizer(vocabulary)
        }
        vocabulary.scores = []
        vocabulary.tokenTypes = [1, 1, 1, 1]
        #expect(throws: TokenizerError.arrayLengthMismatch(name: "token_type", count: 4, tokenCount: 3)) {
            try Tokenizer(vocabulary)
        }
        vocabulary.tokenTypes = [1, 9, 1]
        #expect(throws: TokenizerError.invalidTokenType(index: 1, value: 9)) { try Tokenizer(vocabulary) }
        vocabulary.tokenTypes = []
        vocabulary.bosID = 3
        #expect(throws: TokenizerError.invalidSpecialToken(name: "bos", id: 3, tokenCount: 3)) {
            try Tokenizer(vocabulary)
        }
        #expect(throws: TokenizerError.emptyVocabulary) { try Tokenizer(TokenizerVocabulary(model: .llama, tokens: [])) }
    }

    @Test func mergesNamingUnknownTokens() {
        var vocabulary = TokenizerVocabulary(model: .gpt2, tokens: ["a", "b", "ab", "Ġ"])
        vocabulary.merges = ["a b", "a c"]
        #expect(throws: TokenizerError.mergeNamesUnknownToken(index: 1, token: "c")) { try Tokenizer(vocabulary) }
        vocabulary.merges = ["b a"]  // "ba" is not a token
        #expect(throws: TokenizerError.mergeNamesUnknownToken(index: 0, token: "ba")) { try Tokenizer(vocabulary) }
        vocabulary.merges = ["ab"]
        #expect(throws: TokenizerError.malformedMerge(index: 0, text: "ab")) { try Tokenizer(vocabulary) }
        vocabulary.merges = []
        #expect(throws: TokenizerError.missingMerges) { try Tokenizer(vocabulary) }
        vocabulary.merges = ["a b"]
        vocabulary.preTokenizer = "no-such-split"
        #expect(throws: TokenizerError.unsupportedPreTokenizer("no-such-split")) { try Tokenizer(vocabulary) }
    }

    @Test func idsOutOfRange() throws {
        let t = try SentencePieceTests.tiny()
        #expect(throws: TokenizerError.tokenOutOfRange(id: t.tokenCount, tokenCount: t.tokenCount)) {
            try t.decode([6, t.tokenCount])
        }
        #expect(throws: TokenizerError.tokenOutOfRange(id: -1, tokenCount: t.tokenCount)) { try t.decode([-1]) }
        var stream = t.streamingDecoder()
        #expect(throws: TokenizerError.tokenOutOfRange(id: 1 << 40, tokenCount: t.tokenCount)) {
            try stream.append(1 << 40)
        }
    }

    @Test func ggufMetadataErrorsNameTheKey() {
        var meta = GGUFMetadata()
        #expect(throws: GGUFError.missingKey("tokenizer.ggml.model")) { try Tokenizer(meta) }
        meta.set("tokenizer.ggml.model", .string("wordpiece"))
        #expect(throws: TokenizerError.unsupportedModel("wordpiece")) { try Tokenizer(meta) }
        meta.set("tokenizer.ggml.model", .string("llama"))
        meta.set("tokenizer.ggml.tokens", .array(.string(["a", "b"])))
        meta.set("tokenizer.ggml.scores", .array(.float32([0])))
        #expect(throws: TokenizerError.arrayLengthMismatch(name: "scores", count: 1, tokenCount: 2)) { try Tokenizer(meta) }
    }
}
