import PhoenixTokenizer
import Testing

/// SentencePiece-style (`llama`) behaviour on vocabularies small enough to check by hand.
@Suite struct SentencePieceTests {
    /// ▁, a, b, c, ab, abc, ▁ab plus the 256 byte tokens; scores make "ab" merge before "bc".
    static func tiny(addSpacePrefix: Bool = false) throws -> Tokenizer {
        var tokens = ["<unk>", "<s>", "</s>", "<ctrl>", "<u>", "▁", "a", "b", "c", "ab", "bc", "abc", "▁ab"]
        var scores: [Float] = [0, 0, 0, 0, 0, -1, -2, -2, -2, -1, -3, -0.5, -0.2]
        var types = [2, 3, 3, 3, 4] + Array(repeating: 1, count: 8)
        for byte in 0..<256 {
            tokens.append("<0x\(String(byte, radix: 16, uppercase: true).leftPadded(to: 2))>")
            scores.append(0)
            types.append(6)
        }
        var vocabulary = TokenizerVocabulary(model: .llama, tokens: tokens)
        vocabulary.scores = scores
        vocabulary.tokenTypes = types
        vocabulary.bosID = 1
        vocabulary.eosID = 2
        vocabulary.unknownID = 0
        vocabulary.addSpacePrefix = addSpacePrefix
        return try Tokenizer(vocabulary)
    }

    static func byte(_ value: UInt8) -> Int { 13 + Int(value) }

    @Test func mergesByScore() throws {
        let t = try Self.tiny()
        #expect(t.encode("abc", addSpecial: false) == [11])          // ab (-1) then abc (-0.5)
        #expect(t.encode("ab", addSpecial: false) == [9])
        #expect(t.encode("bc", addSpecial: false) == [10])
        #expect(t.encode("cab", addSpecial: false) == [8, 9])
        #expect(t.encode(" ab", addSpecial: false) == [12])          // ▁ab
        #expect(t.encode("a b", addSpecial: false) == [6, 5, 7])
    }

    @Test func byteFallbackForUnknownCharacters() throws {
        let t = try Self.tiny()
        #expect(t.encode("é", addSpecial: false) == [Self.byte(0xC3), Self.byte(0xA9)])
        #expect(t.encode("a😀", addSpecial: false) == [6] + [0xF0, 0x9F, 0x98, 0x80].map(Self.byte))
        #expect(try t.decode(t.encode("a😀 é", addSpecial: false)) == "a😀 é")
    }

    @Test func spacePrefixAndBOS() throws {
        let t = try Self.tiny(addSpacePrefix: true)
        #expect(t.encode("ab") == [1, 12])                            // <s> ▁ab
        #expect(t.encode("") == [1])
        #expect(t.encode("", addSpecial: false) == [])
        #expect(try t.decode(t.encode("ab")) == "ab")                 // the added space is removed again
    }

    @Test func specialTokensOnlyWhenParsing() throws {
        let t = try Self.tiny()
        let plain = t.encode("a<ctrl>b", addSpecial: false)
        #expect(!plain.contains(3))
        #expect(t.encode("a<ctrl>b", addSpecial: false, parseSpecial: true) == [6, 3, 7])
        // User-defined tokens are always cut out, as llama.cpp does.
        #expect(t.encode("a<u>b", addSpecial: false) == [6, 4, 7])
        #expect(try t.decode([6, 3, 7]) == "ab")
        #expect(try t.decode([6, 3, 7], renderSpecial: true) == "a<ctrl>b")
    }

    @Test func unknownTokenWhenNoByteTokens() throws {
        var vocabulary = TokenizerVocabulary(model: .llama, tokens: ["<unk>", "▁", "a"])
        vocabulary.tokenTypes = [2, 1, 1]
        vocabulary.unknownID = 0
        vocabulary.addSpacePrefix = false
        let t = try Tokenizer(vocabulary)
        #expect(t.encode("aé", addSpecial: false) == [2, 0, 0])     // one unknown per byte, as llama.cpp
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
