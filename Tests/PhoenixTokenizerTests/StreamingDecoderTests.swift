import PhoenixTestSupport
import PhoenixTokenizer
import Testing

/// A character split across byte tokens comes out whole, never as a broken sequence.
@Suite struct StreamingDecoderTests {
    @Test func holdsBackSplitCharacters() throws {
        let t = try SentencePieceTests.tiny()
        var stream = t.streamingDecoder()
        let euro = Array("€".utf8)  // E2 82 AC
        #expect(try stream.append(SentencePieceTests.byte(euro[0])) == "")
        #expect(try stream.append(SentencePieceTests.byte(euro[1])) == "")
        #expect(try stream.append(SentencePieceTests.byte(euro[2])) == "€")
        #expect(try stream.append(6) == "a")
        #expect(stream.finish() == "")
    }

    @Test func unfinishedOrInvalidBytesBecomeReplacementCharacters() throws {
        let t = try SentencePieceTests.tiny()
        var stream = t.streamingDecoder()
        #expect(try stream.append(SentencePieceTests.byte(0xF0)) == "")
        #expect(try stream.append(SentencePieceTests.byte(0x9F)) == "")
        #expect(try stream.append(6) == "\u{FFFD}a")                  // the emoji never finished
        #expect(try stream.append(SentencePieceTests.byte(0xFF)) == "\u{FFFD}")  // can never start a character
        #expect(try stream.append(SentencePieceTests.byte(0xE2)) == "")
        #expect(stream.finish() == "\u{FFFD}")
    }

    /// Random text through byte tokens only: every chunk is whole characters and they join to the text.
    @Test(arguments: [1, 2, 3])
    func randomTextInBytes(seed: UInt64) throws {
        let t = try SentencePieceTests.tiny()
        var rng = SplitMix64(seed: seed)
        let scalars = (0..<200).map { _ in
            Character(Unicode.Scalar(UInt32.random(in: 0x20...0x2FFF, using: &rng)) ?? "?")
        }
        let text = String(scalars)
        var stream = t.streamingDecoder()
        var out = ""
        for byte in text.utf8 {
            let chunk = try stream.append(SentencePieceTests.byte(byte))
            #expect(!chunk.contains("\u{FFFD}"))
            out += chunk
        }
        out += stream.finish()
        #expect(out == text)
    }
}
