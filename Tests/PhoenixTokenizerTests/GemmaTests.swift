import Foundation
import PhoenixTestSupport
import PhoenixTokenizer
import Testing

/// The default model's tokenizer (Gemma 3, SentencePiece-style, 262,144 tokens) against llama.cpp's ids
/// for every corpus string (Tests/Fixtures/tokenizer/gemma3.json). Skipped when the model is not
/// installed, except in CI where a missing model fails.
@Suite(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"))
struct GemmaTests {
    static func tokenizer() throws -> Tokenizer {
        let path = try #require(TestEnvironment.defaultModelPath,
                                "default model missing: set PHOENIX_MODEL or run Scripts/install-model.sh")
        return try Tokenizer(path: path)
    }

    @Test func metadata() throws {
        let t = try Self.tokenizer()
        #expect(t.model == .llama)
        #expect(t.tokenCount == 262_144)
        #expect((t.bosID, t.eosID, t.unknownID, t.paddingID) == (2, 1, 3, 0))
        #expect(t.addBOS && !t.addEOS && !t.addSpacePrefix)
    }

    @Test func idsMatchLlamaCpp() throws {
        let golden = try TokenizerFixtures.load("gemma3.json", as: TokenizerFixtures.Gemma.self)
        let corpus = try TokenizerFixtures.corpus()
        #expect(golden.cases.map(\.text) == corpus)
        let t = try Self.tokenizer()
        var plainMismatches: [(String, [Int], [Int])] = []
        var specialMismatches: [(String, [Int], [Int])] = []
        var roundTrips = 0
        for c in golden.cases {
            let plain = t.encode(c.text)
            if plain != c.ids { plainMismatches.append((c.text, c.ids, plain)) }
            let special = t.encode(c.text, parseSpecial: true)
            if special != c.idsParseSpecial { specialMismatches.append((c.text, c.idsParseSpecial, special)) }
            if try t.decode(plain) == c.text { roundTrips += 1 }
        }
        let tag = "gemma3 vs llama.cpp \(golden.reference["llama.cpp commit"]?.prefix(7) ?? "?")"
        print(TokenizerFixtures.report(plainMismatches, of: golden.cases.count, label: "\(tag), special as text"))
        print(TokenizerFixtures.report(specialMismatches, of: golden.cases.count, label: "\(tag), special parsed"))
        print("\(tag): round trip \(roundTrips)/\(golden.cases.count)")
        #expect(plainMismatches.isEmpty, "\(TokenizerFixtures.report(plainMismatches, of: golden.cases.count, label: tag))")
        #expect(specialMismatches.isEmpty, "\(TokenizerFixtures.report(specialMismatches, of: golden.cases.count, label: tag))")
        // Byte fallback and no normalization: every string comes back exactly.
        #expect(roundTrips == golden.cases.count)
    }

    @Test func chatTemplateTokens() throws {
        let t = try Self.tokenizer()
        let ids = t.encode("<start_of_turn>user\nHi<end_of_turn>\n", parseSpecial: true)
        #expect(ids.first == 2)
        #expect(ids[1] == 105 && ids.contains(106))
        #expect(!t.encode("<start_of_turn>").contains(105))
        #expect(try t.decode(ids, renderSpecial: true) == "<bos><start_of_turn>user\nHi<end_of_turn>\n")
    }

    /// Streaming the corpus token by token gives the same text as decoding it at once, and no chunk
    /// ever ends inside a character.
    @Test func streamingDecoderMatchesDecode() throws {
        let t = try Self.tokenizer()
        for text in try TokenizerFixtures.corpus() {
            var stream = t.streamingDecoder()
            var chunks: [String] = []
            for id in t.encode(text) { chunks.append(try stream.append(id)) }
            chunks.append(stream.finish())
            #expect(chunks.joined() == text)
            #expect(!chunks.joined().contains("\u{FFFD}") || text.contains("\u{FFFD}"))
        }
    }
}
