/// The split a byte-level BPE makes before merging, named by `tokenizer.ggml.pre`. Each is one regex from
/// the model's `tokenizer.json`, matched here by hand (one pass, no backtracking engine) with the
/// semantics of Oniguruma, the engine Hugging Face `tokenizers` uses:
///
///     gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///     llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///     qwen2:  the llama3 regex with \p{N} (one digit) in place of \p{N}{1,3}
///
/// `\s` is Unicode White_Space, `\p{L}` the letter categories, `\p{N}` Nd, Nl and No.
/// Cost: O(n) in the scalars of a fragment; each alternative looks ahead at most one run.
public enum PreTokenizer: Sendable, Equatable {
    case gpt2
    case llama3
    case qwen2

    /// `tokenizer.ggml.pre` values and the split each one means; names follow llama.cpp.
    static let byName: [String: PreTokenizer] = [
        "default": .gpt2, "gpt-2": .gpt2, "gpt2": .gpt2, "phi-2": .gpt2, "roberta-bpe": .gpt2, "mpt": .gpt2,
        "olmo": .gpt2, "jina-es": .gpt2, "jina-de": .gpt2, "jina-v1-en": .gpt2, "jina-v2-es": .gpt2,
        "jina-v2-de": .gpt2, "jina-v2-code": .gpt2,
        "llama3": .llama3, "llama-v3": .llama3, "llama-bpe": .llama3, "smaug-bpe": .llama3, "falcon3": .llama3,
        "pixtral": .llama3,
        "qwen2": .qwen2, "deepseek-r1-qwen": .qwen2, "stablelm2": .qwen2, "megrez": .qwen2,
    ]

    static var supportedNames: [String] { byName.keys.sorted() }

    public init(name: String) throws {
        guard let kind = Self.byName[name] else { throw TokenizerError.unsupportedPreTokenizer(name) }
        self = kind
    }

    /// Whether a word that is itself a token skips the merges (Llama 3's `ignore_merges`).
    var ignoresMerges: Bool { self == .llama3 }

    /// The words of `text`, in order; they concatenate back to `text`.
    public func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return split(bytes, 0..<bytes.count).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// Byte ranges of the words of `text[range]`, in order, covering it exactly.
    func split(_ text: [UInt8], _ range: Range<Int>) -> [Range<Int>] {
        var scalars = ScalarBuffer(text, range)
        var words: [Range<Int>] = []
        var i = 0
        while i < scalars.count {
            let end = max(match(&scalars, at: i), i + 1)
            words.append(scalars.offset(i)..<scalars.offset(end))
            i = end
        }
        return words
    }

    /// The end (exclusive, in scalars) of the match starting at `i`.
    private func match(_ s: inout ScalarBuffer, at i: Int) -> Int {
        let n = s.count
        let caseInsensitive = self != .gpt2
        // 's|'t|'re|'ve|'m|'ll|'d
        if s.value(i) == 0x27, i + 1 < n {
            let a = s.value(i + 1), b = i + 2 < n ? s.value(i + 2) : 0
            func equal(_ x: UInt32, _ c: Character) -> Bool {
                let lower = UInt32(c.asciiValue!)
                return x == lower || (caseInsensitive && x == lower - 32)
            }
            if equal(a, "s") || equal(a, "t") { return i + 2 }
            if (equal(a, "r") || equal(a, "v")) && equal(b, "e") { return i + 3 }
            if equal(a, "m") { return i + 2 }
            if equal(a, "l") && equal(b, "l") { return i + 3 }
            if equal(a, "d") { return i + 2 }
        }
        let c = s.kind(i)
        switch self {
        case .gpt2:
            // ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+
            let j = s.value(i) == 0x20 && i + 1 < n ? i + 1 : i
            let cj = s.kind(j)
            if cj != .space, j < n, j > i || c != .space { return s.run(of: cj, from: j) }
        case .llama3, .qwen2:
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if c == .letter { return s.run(of: .letter, from: i) }
            if c != .number, !s.isNewline(i), i + 1 < n, s.kind(i + 1) == .letter { return s.run(of: .letter, from: i + 1) }
            // \p{N}{1,3} or \p{N}
            if c == .number { return min(s.run(of: .number, from: i), i + (self == .llama3 ? 3 : 1)) }
            // ?[^\s\p{L}\p{N}]+[\r\n]*
            let j = s.value(i) == 0x20 && i + 1 < n ? i + 1 : i
            if s.kind(j) == .other {
                var end = s.run(of: .other, from: j)
                while end < n && s.isNewline(end) { end += 1 }
                return end
            }
            // \s*[\r\n]+: the run of whitespace, cut after its last \r or \n.
            if c == .space {
                let end = s.run(of: .space, from: i)
                var last = end - 1
                while last >= i && !s.isNewline(last) { last -= 1 }
                if last >= i { return last + 1 }
            }
        }
        // \s+(?!\S)|\s+: a whitespace run, minus its last character when a non-space follows.
        let end = s.run(of: .space, from: i)
        if end < n && end - i >= 2 { return end - 1 }
        return end
    }
}

/// A fragment decoded into scalars, with the byte offset of each and a lazily computed class.
struct ScalarBuffer {
    enum Kind: UInt8 { case letter, number, space, other }
    private var values: [UInt32] = []
    private var offsets: [Int] = []
    private var kinds: [Kind] = []
    private let endOffset: Int

    init(_ text: [UInt8], _ range: Range<Int>) {
        endOffset = range.upperBound
        var i = range.lowerBound
        values.reserveCapacity(range.count)
        offsets.reserveCapacity(range.count)
        while i < range.upperBound {
            let lead = text[i]
            let n = min(utf8Length(lead: lead), range.upperBound - i)
            var v: UInt32
            switch n {
            case 2: v = UInt32(lead & 0x1F)
            case 3: v = UInt32(lead & 0x0F)
            case 4: v = UInt32(lead & 0x07)
            default: v = UInt32(lead)
            }
            if n > 1 { for k in 1..<n { v = v << 6 | UInt32(text[i + k] & 0x3F) } }
            values.append(v)
            offsets.append(i)
            i += n
        }
        kinds = values.map(Self.classify)
    }

    var count: Int { values.count }
    func value(_ i: Int) -> UInt32 { i < values.count ? values[i] : 0 }
    func offset(_ i: Int) -> Int { i < offsets.count ? offsets[i] : endOffset }
    /// `.space` past the end, so runs stop there.
    func kind(_ i: Int) -> Kind { i < kinds.count ? kinds[i] : .space }
    func isNewline(_ i: Int) -> Bool { value(i) == 0x0A || value(i) == 0x0D }

    /// The end of the run of `kind` starting at `i`.
    func run(of kind: Kind, from i: Int) -> Int {
        var j = i
        while j < kinds.count && kinds[j] == kind { j += 1 }
        return j
    }

    static func classify(_ value: UInt32) -> Kind {
        if value < 0x80 {
            switch value {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }
}
