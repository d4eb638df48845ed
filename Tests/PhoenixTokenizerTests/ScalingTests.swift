import PhoenixTokenizer
import Testing

/// The merge loops are O(n log n): merge-queue pops grow linearly with the input, and a single
/// 100,000-character word (no spaces to split at) finishes.
@Suite struct ScalingTests {
    static func steps(_ t: Tokenizer, _ text: String) -> Int { t.encodeCountingSteps(text, addSpecial: false).steps }

    @Test func sentencePieceStepsGrowLinearly() throws {
        let t = try SentencePieceTests.tiny()
        let small = Self.steps(t, String(repeating: "abc", count: 1_000))
        let large = Self.steps(t, String(repeating: "abc", count: 33_334))  // a 100,002-character word
        #expect(small > 0)
        #expect(Double(large) / Double(small) < 34 * 1.2)
        #expect(t.encode(String(repeating: "abc", count: 33_334), addSpecial: false) == Array(repeating: 11, count: 33_334))
    }

    @Test func bytePairStepsGrowLinearly() throws {
        let t = try BytePairEncodingTests.tokenizer(preTokenizer: "gpt-2")
        let small = Self.steps(t, String(repeating: "thequickbrownfox", count: 100))
        let large = Self.steps(t, String(repeating: "thequickbrownfox", count: 6_250))  // 100,000 letters, one word
        #expect(small > 0)
        #expect(Double(large) / Double(small) < 62.5 * 1.2)
    }
}
