import PhoenixGGUF
import PhoenixTestSupport
import PhoenixTokenizer
import Testing

/// Byte-level BPE (`gpt2`) against Hugging Face `tokenizers`: a ~1000-token BPE trained by it, stored in
/// Tests/Fixtures/tokenizer/bpe-tiny.gguf, and its ids for every corpus string under three splits.
@Suite struct BytePairEncodingTests {
    static func tokenizer(preTokenizer: String) throws -> Tokenizer {
        var vocabulary = try TokenizerVocabulary(GGUFFile(path: TokenizerFixtures.bytePairPath).metadata)
        vocabulary.preTokenizer = preTokenizer
        return try Tokenizer(vocabulary)
    }

    @Test(arguments: ["gpt-2", "llama-bpe", "qwen2"])
    func idsMatchTokenizers(preTokenizer: String) throws {
        let corpus = try TokenizerFixtures.corpus()
        let golden = try TokenizerFixtures.load("bpe-tiny.json", as: TokenizerFixtures.BytePair.self)
        let cases = try #require(golden.cases[preTokenizer])
        try #require(cases.count == corpus.count)
        let t = try Self.tokenizer(preTokenizer: preTokenizer)
        var plainMismatches: [(String, [Int], [Int])] = []
        var specialMismatches: [(String, [Int], [Int])] = []
        var roundTrips = 0, referenceRoundTrips = 0
        for (text, expected) in zip(corpus, cases) {
            let plain = t.encode(text, parseSpecial: false)
            if plain != expected.ids { plainMismatches.append((text, expected.ids, plain)) }
            let special = t.encode(text, parseSpecial: true)
            if special != expected.idsParseSpecial { specialMismatches.append((text, expected.idsParseSpecial, special)) }
            if expected.roundTrip == true {
                referenceRoundTrips += 1
                if try t.decode(plain, renderSpecial: true) == text { roundTrips += 1 }
            }
        }
        let tag = "bpe-tiny \(preTokenizer) vs tokenizers \(golden.reference["tokenizers"] ?? "?")"
        print(TokenizerFixtures.report(plainMismatches, of: corpus.count, label: "\(tag), special as text"))
        print(TokenizerFixtures.report(specialMismatches, of: corpus.count, label: "\(tag), special parsed"))
        print("\(tag): round trip \(roundTrips)/\(referenceRoundTrips) (strings where the reference round-trips)")
        #expect(plainMismatches.isEmpty, "\(TokenizerFixtures.report(plainMismatches, of: corpus.count, label: tag))")
        #expect(specialMismatches.isEmpty, "\(TokenizerFixtures.report(specialMismatches, of: corpus.count, label: tag))")
        #expect(roundTrips == referenceRoundTrips)
    }

    @Test func metadataFlags() throws {
        let t = try Self.tokenizer(preTokenizer: "gpt-2")
        #expect(t.model == .gpt2)
        #expect(t.tokenCount == 1000)
        #expect(!t.addBOS)
        #expect(t.eosID == t.id(ofToken: "<|endoftext|>"))
        #expect(try t.tokenType(#require(t.eosID)) == .control)
    }

    /// "Ġ" is the byte-level stand-in for a space; every byte maps to a printable scalar and back.
    @Test func byteLevelRoundTripsEveryByte() throws {
        let t = try Self.tokenizer(preTokenizer: "gpt-2")
        var rng = SplitMix64(seed: 11)
        for _ in 0..<50 {
            let text = String(decoding: rng.bytes(40), as: UTF8.self)  // invalid bytes become U+FFFD
            #expect(try t.decode(t.encode(text)) == text)
        }
    }
}
