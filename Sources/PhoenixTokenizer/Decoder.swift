/// Token ids back to text, as llama.cpp's `token_to_piece` and `detokenize` do:
/// normal tokens give their text (`▁` back to space for `llama`, byte-level unicode back to bytes for
/// `gpt2`), `<0xXX>` byte tokens give one byte, user-defined tokens their text as stored; control and
/// unknown tokens give their text only when `renderSpecial` is set, and unused tokens give nothing.
extension Tokenizer {
    /// The bytes token `id` stands for. Throws `TokenizerError.tokenOutOfRange`.
    public func pieceBytes(_ id: Int, renderSpecial: Bool = false) throws -> [UInt8] {
        try checkRange(id)
        let text = table.text(id)
        switch types[id] {
        case .control, .unknown:
            return renderSpecial ? Array(text) : []
        case .userDefined:
            return Array(text)
        case .undefined, .unused:
            return []
        case .byte where model == .llama:
            return [Self.byteValue(text) ?? 0]
        case .normal, .byte:
            switch model {
            case .llama: return Self.unescapeSpaces(text)
            case .gpt2: return ByteLevel.decode(text)
            }
        }
    }

    /// The text of `ids`. Invalid UTF-8 (a character cut off at the end) becomes U+FFFD.
    /// With `addSpacePrefix` the space the encoder put in front is removed again.
    public func decode(_ ids: [Int], renderSpecial: Bool = false) throws -> String {
        var bytes: [UInt8] = []
        var first = true
        for id in ids {
            var piece = try pieceBytes(id, renderSpecial: renderSpecial)
            if first && !piece.isEmpty {
                if addSpacePrefix && piece[0] == 0x20 { piece.removeFirst() }
                first = false
            }
            bytes += piece
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A decoder for tokens arriving one at a time; see `StreamingDecoder`.
    public func streamingDecoder(renderSpecial: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, renderSpecial: renderSpecial)
    }

    /// `<0x41>` -> 0x41.
    static func byteValue(_ text: ArraySlice<UInt8>) -> UInt8? {
        guard text.count == 6 else { return nil }
        return UInt8(String(decoding: text.dropFirst(3).prefix(2), as: UTF8.self), radix: 16)
    }

    /// `▁` (E2 96 81) -> space.
    static func unescapeSpaces(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == 0xE2 && i + 2 < text.endIndex && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}

/// Decodes tokens as they are generated, returning only whole characters: when a character's bytes
/// are split across tokens (byte-fallback tokens, byte-level BPE), its first bytes are held back until
/// the rest arrive, so no returned string ever contains a broken UTF-8 sequence. Bytes that can never
/// form a character come out as U+FFFD. Not thread-safe: one per generation stream.
public struct StreamingDecoder: Sendable {
    let tokenizer: Tokenizer
    let renderSpecial: Bool
    private var pending: [UInt8] = []
    private var first = true

    init(tokenizer: Tokenizer, renderSpecial: Bool) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// The text completed by `id` (possibly empty). Throws `TokenizerError.tokenOutOfRange`.
    public mutating func append(_ id: Int) throws -> String {
        var piece = try tokenizer.pieceBytes(id, renderSpecial: renderSpecial)
        if first && !piece.isEmpty {
            if tokenizer.addSpacePrefix && piece[0] == 0x20 { piece.removeFirst() }
            first = false
        }
        pending += piece
        let cut = Self.completePrefixLength(pending)
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Whatever is still held back, with an unfinished character as U+FFFD.
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of `bytes` without a trailing sequence that is a valid but unfinished UTF-8 character.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // The last lead byte among the final three bytes, if the bytes after it are all continuations.
        var start = bytes.count - 1
        while start >= 0 && start >= bytes.count - 3 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return bytes.count }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return bytes.count
        }
        let have = bytes.count - start
        guard have < needed else { return bytes.count }
        // The second byte's range depends on the lead (no overlongs, surrogates or values past U+10FFFF).
        if have >= 2 {
            let second = bytes[start + 1]
            let valid: ClosedRange<UInt8> = switch lead {
            case 0xE0: 0xA0...0xBF
            case 0xED: 0x80...0x9F
            case 0xF0: 0x90...0xBF
            case 0xF4: 0x80...0x8F
            default: 0x80...0xBF
            }
            guard valid.contains(second) else { return bytes.count }
        }
        return start
    }
}
