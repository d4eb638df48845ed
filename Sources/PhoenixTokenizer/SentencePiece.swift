/// `tokenizer.ggml.model = llama`: SentencePiece-style BPE. Spaces become `▁` (U+2581), the text is cut
/// into UTF-8 characters, and the adjacent pair whose concatenation is the highest-scoring token merges
/// first (ties: leftmost), until no pair is a token. A character that never became a token is emitted as
/// its `<0xXX>` byte tokens. Ported from llama.cpp `llm_tokenizer_spm_session` (src/llama-vocab.cpp,
/// llama.cpp 0c1e570 as vendored by llama-cpp-python 0.3.36).
/// Cost: O(n log n) in the bytes of one fragment: each merge pushes at most two candidate pairs on a heap.
struct SentencePiece: Sendable {
    let table: TokenTable
    let scores: [Float]
    let byteTokens: [Int32]  // byte -> `<0xXX>` token (else the one-byte token, else unknown, else -1)

    /// The escaped text: `▁` for every space, after an optional leading space.
    static func escape(_ text: ArraySlice<UInt8>, addSpacePrefix: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + text.count / 4 + 3)
        if addSpacePrefix { out += [0xE2, 0x96, 0x81] }
        for byte in text {
            if byte == 0x20 { out += [0xE2, 0x96, 0x81] } else { out.append(byte) }
        }
        return out
    }

    /// Appends the tokens of `text` (already escaped) to `output`.
    func encode(_ text: [UInt8], into output: inout [Int32], counter: inout Int) {
        guard !text.isEmpty else { return }
        // One symbol per UTF-8 character: symbol i is text[start[i]..<start[i] + length[i]].
        var start: [Int32] = [], length: [Int32] = []
        start.reserveCapacity(text.count)
        length.reserveCapacity(text.count)
        var offset = 0
        while offset < text.count {
            let n = min(utf8Length(lead: text[offset]), text.count - offset)
            start.append(Int32(offset))
            length.append(Int32(n))
            offset += n
        }
        let count = start.count
        var prev = (0..<count).map { Int32($0 - 1) }
        var next = (0..<count).map { Int32($0 + 1 == count ? -1 : $0 + 1) }

        var queue = Heap<Bigram>()
        func tryAdd(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let size = Int(length[Int(left)] + length[Int(right)])
            guard let id = table.id(text, from: Int(start[Int(left)]), count: size) else { return }
            queue.push(Bigram(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
        }
        for i in 1..<max(count, 1) { tryAdd(Int32(i - 1), Int32(i)) }

        while let bigram = queue.pop() {
            counter += 1
            let left = Int(bigram.left), right = Int(bigram.right)
            // A pair is stale once either side has merged with something else.
            guard length[left] > 0, length[right] > 0, length[left] + length[right] == bigram.size else { continue }
            length[left] += length[right]
            length[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { prev[Int(next[right])] = Int32(left) }
            tryAdd(prev[left], Int32(left))
            tryAdd(Int32(left), next[left])
        }

        var i: Int32 = 0
        while i >= 0 {
            let s = Int(start[Int(i)]), n = Int(length[Int(i)])
            if let id = table.id(text, from: s, count: n) {
                output.append(id)
            } else {
                for j in s..<(s + n) where byteTokens[Int(text[j])] >= 0 { output.append(byteTokens[Int(text[j])]) }
            }
            i = next[Int(i)]
        }
    }
}

/// Byte count of the UTF-8 sequence a lead byte starts (llama.cpp `unicode_len_utf8`: by the high nibble).
@inline(__always)
func utf8Length(lead: UInt8) -> Int {
    switch lead >> 4 {
    case 0xC, 0xD: 2
    case 0xE: 3
    case 0xF: 4
    default: 1
    }
}

struct Bigram: HeapOrdered {
    var score: Float
    var left: Int32
    var right: Int32
    var size: Int32

    /// Pops before `other`: higher score first, then the leftmost pair.
    func precedes(_ other: Bigram) -> Bool {
        score > other.score || (score == other.score && left < other.left)
    }
}
