/// Text to token ids and back, as a GGUF file's `tokenizer.ggml.*` describes: SentencePiece-style
/// (`llama`, used by Gemma and Llama 2) or byte-level BPE (`gpt2`, used by Llama 3, Qwen 2, GPT-2).
/// Encoding is one pipeline: special tokens are cut out (`SpecialTokens`), each remaining fragment is
/// merged by the model (`SentencePiece` or `BytePairEncoding`), BOS/EOS wrap the result.
/// Ids agree with llama.cpp's tokenizer (for `llama`) and Hugging Face `tokenizers` (for `gpt2`); see
/// Tests/Fixtures/README.md. Immutable and `Sendable`: one instance can serve every thread.
public struct Tokenizer: Sendable {
    public let model: TokenizerModel
    public let tokenCount: Int
    public let bosID: Int?
    public let eosID: Int?
    public let unknownID: Int?
    public let paddingID: Int?
    public let addBOS: Bool
    public let addEOS: Bool
    public let addSpacePrefix: Bool
    let types: [TokenType]
    let table: TokenTable
    let special: SpecialTokens
    let engine: Engine

    enum Engine: Sendable {
        case sentencePiece(SentencePiece)
        case bytePair(BytePairEncoding)
    }

    /// Validates `vocabulary` and builds the lookup tables. Throws `TokenizerError` for arrays of
    /// different lengths, special ids outside the vocabulary, undefined token types, and merges that
    /// are malformed or name tokens the vocabulary lacks. Cost: O(vocabulary + merges).
    public init(_ vocabulary: TokenizerVocabulary) throws {
        let count = vocabulary.tokens.count
        guard count > 0 else { throw TokenizerError.emptyVocabulary }
        guard count <= Int(Int32.max) else {
            throw TokenizerError.arrayLengthMismatch(name: "tokens", count: count, tokenCount: Int(Int32.max))
        }
        if !vocabulary.scores.isEmpty && vocabulary.scores.count != count {
            throw TokenizerError.arrayLengthMismatch(name: "scores", count: vocabulary.scores.count, tokenCount: count)
        }
        if !vocabulary.tokenTypes.isEmpty && vocabulary.tokenTypes.count != count {
            throw TokenizerError.arrayLengthMismatch(
                name: "token_type", count: vocabulary.tokenTypes.count, tokenCount: count)
        }
        func checked(_ name: String, _ id: Int?) throws -> Int? {
            guard let id, id >= 0 else { return nil }  // GGUF writes -1 for "none"
            guard id < count else { throw TokenizerError.invalidSpecialToken(name: name, id: id, tokenCount: count) }
            return id
        }
        model = vocabulary.model
        tokenCount = count
        bosID = try checked("bos", vocabulary.bosID)
        eosID = try checked("eos", vocabulary.eosID)
        unknownID = try checked("unknown", vocabulary.unknownID)
        paddingID = try checked("padding", vocabulary.paddingID)
        addBOS = vocabulary.addBOS
        addEOS = vocabulary.addEOS
        addSpacePrefix = vocabulary.model == .llama && vocabulary.addSpacePrefix

        if vocabulary.tokenTypes.isEmpty {
            types = Array(repeating: .normal, count: count)
        } else {
            types = try vocabulary.tokenTypes.enumerated().map { index, raw in
                guard let type = TokenType(rawValue: raw) else { throw TokenizerError.invalidTokenType(index: index, value: raw) }
                return type
            }
        }
        table = TokenTable(vocabulary.tokens)
        special = SpecialTokens(table: table, types: types)
        let unknown = unknownID.map(Int32.init) ?? -1

        switch vocabulary.model {
        case .llama:
            let table = self.table
            let byteTokens: [Int32] = (0..<256).map { byte in
                let hex = String(byte, radix: 16, uppercase: true)
                if let id = table.id(Array("<0x\(hex.count == 1 ? "0" + hex : hex)>".utf8)) { return id }
                if let id = table.id([UInt8(byte)]) { return id }
                return unknown
            }
            let scores = vocabulary.scores.isEmpty ? [Float](repeating: 0, count: count) : vocabulary.scores
            engine = .sentencePiece(SentencePiece(table: table, scores: scores, byteTokens: byteTokens))
        case .gpt2:
            guard !vocabulary.merges.isEmpty else { throw TokenizerError.missingMerges }
            let table = self.table
            let byteTokens: [Int32] = (0..<256).map { table.id(ByteLevel.encode([UInt8($0)])) ?? -1 }
            var merges = MergeTable(capacity: vocabulary.merges.count)
            for (rank, line) in vocabulary.merges.enumerated() {
                // "left right": split at the first space after the first byte, as llama.cpp does.
                let bytes = Array(line.utf8)
                guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20), space + 1 < bytes.count else {
                    throw TokenizerError.malformedMerge(index: rank, text: line)
                }
                let left = Array(bytes[..<space]), right = Array(bytes[(space + 1)...])
                func id(_ text: [UInt8]) throws -> Int32 {
                    guard let id = table.id(text) else {
                        throw TokenizerError.mergeNamesUnknownToken(index: rank, token: String(decoding: text, as: UTF8.self))
                    }
                    return id
                }
                let (leftID, rightID, merged) = (try id(left), try id(right), try id(left + right))
                merges.insert(leftID, rightID, .init(rank: Int32(rank), id: merged))  // first rank wins
            }
            let preTokenizer = try PreTokenizer(name: vocabulary.preTokenizer)
            engine = .bytePair(BytePairEncoding(merges: merges, byteTokens: byteTokens, table: table,
                                                preTokenizer: preTokenizer))
        }
    }

    // MARK: - Encoding

    /// The ids of `text`. `addSpecial` adds BOS/EOS as the vocabulary's `addBOS`/`addEOS` say;
    /// `parseSpecial` turns control-token text such as `<start_of_turn>` into its id (chat templates
    /// need this; user text should not get it). Cost: O(n log n) in the length of the text.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int] {
        var steps = 0
        return encodeIDs(Array(text.utf8), addSpecial: addSpecial, parseSpecial: parseSpecial, steps: &steps)
    }

    /// The ids of UTF-8 bytes; throws `TokenizerError.invalidUTF8` naming the first bad byte.
    public func encode(utf8 bytes: [UInt8], addSpecial: Bool = true, parseSpecial: Bool = false) throws -> [Int] {
        try Self.validateUTF8(bytes)
        var steps = 0
        return encodeIDs(bytes, addSpecial: addSpecial, parseSpecial: parseSpecial, steps: &steps)
    }

    /// `encode` plus the number of merge-queue pops it took: a machine-independent cost measure.
    public func encodeCountingSteps(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false)
        -> (ids: [Int], steps: Int) {
        var steps = 0
        let ids = encodeIDs(Array(text.utf8), addSpecial: addSpecial, parseSpecial: parseSpecial, steps: &steps)
        return (ids, steps)
    }

    func encodeIDs(_ bytes: [UInt8], addSpecial: Bool, parseSpecial: Bool, steps: inout Int) -> [Int] {
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial && addBOS, let bosID { output.append(Int32(bosID)) }
        var previousWasSpecial = true  // a space prefix goes at the start and after each special token
        for fragment in special.partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                output.append(id)
                previousWasSpecial = true
            case .text(let range):
                switch engine {
                case .sentencePiece(let spm):
                    let escaped = SentencePiece.escape(bytes[range], addSpacePrefix: addSpacePrefix && previousWasSpecial)
                    spm.encode(escaped, into: &output, counter: &steps)
                case .bytePair(let bpe):
                    bpe.encode(bytes, range, unknownID: unknownID.map(Int32.init), into: &output, counter: &steps)
                }
                previousWasSpecial = false
            }
        }
        if addSpecial && addEOS, let eosID { output.append(Int32(eosID)) }
        return output.map(Int.init)
    }

    static func validateUTF8(_ bytes: [UInt8]) throws {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return
            case .error: throw TokenizerError.invalidUTF8(offset: offset)
            }
        }
    }

    // MARK: - Tokens

    /// The token's text as the vocabulary stores it (`▁` for space, byte-level unicode for `gpt2`).
    public func tokenText(_ id: Int) throws -> String {
        try checkRange(id)
        return String(decoding: table.text(id), as: UTF8.self)
    }

    public func tokenType(_ id: Int) throws -> TokenType {
        try checkRange(id)
        return types[id]
    }

    /// The id of the token whose stored text is exactly `text`, if any.
    public func id(ofToken text: String) -> Int? { table.id(Array(text.utf8)).map(Int.init) }

    func checkRange(_ id: Int) throws {
        guard id >= 0 && id < tokenCount else { throw TokenizerError.tokenOutOfRange(id: id, tokenCount: tokenCount) }
    }
}
