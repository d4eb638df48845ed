import PhoenixTokenizer
import Testing

/// Hand-checked splits, read off each regex (the fixture tests check the same code on the whole corpus).
@Suite struct PreTokenizerTests {
    @Test func gpt2() throws {
        let p = try PreTokenizer(name: "gpt-2")
        #expect(p.split("Hello world") == ["Hello", " world"])
        #expect(p.split("a  b") == ["a", " ", " b"])            // \s+(?!\S) leaves one space for " b"
        #expect(p.split("a   ") == ["a", "   "])                // a trailing run stays whole
        #expect(p.split("it's 12345!!") == ["it", "'s", " 12345", "!!"])
        #expect(p.split("IT'S") == ["IT", "'", "S"])            // contractions are case-sensitive here
        #expect(p.split("\t\tx") == ["\t", "\t", "x"])
        #expect(p.split("") == [])
    }

    @Test func llama3() throws {
        let p = try PreTokenizer(name: "llama-bpe")
        #expect(p.split("IT'S 12345") == ["IT", "'S", " ", "123", "45"])
        #expect(p.split("  \n  x") == ["  \n", " ", " x"])      // \s*[\r\n]+ ends at the last newline
        #expect(p.split("(hello)") == ["(hello", ")"])          // one non-letter may lead a word
        #expect(p.split("a.\n\nb") == ["a", ".\n\n", "b"])      // punctuation takes the newlines after it
    }

    @Test func qwen2SplitsDigitsOneByOne() throws {
        let p = try PreTokenizer(name: "qwen2")
        #expect(p.split("x 2024") == ["x", " ", "2", "0", "2", "4"])
    }

    @Test func unknownNameThrows() {
        #expect(throws: TokenizerError.unsupportedPreTokenizer("nope")) { try PreTokenizer(name: "nope") }
    }
}
