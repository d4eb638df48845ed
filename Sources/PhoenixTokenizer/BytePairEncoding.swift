/// `tokenizer.ggml.model = gpt2`: byte-level BPE. Each byte of a pre-tokenized word is one symbol (its
/// token is the byte's GPT-2 unicode stand-in); then the adjacent pair with the lowest merge rank merges
/// (ties: leftmost), until no adjacent pair has a merge. Same order as Hugging Face `tokenizers`
/// (`Word::merge_all`) and llama.cpp (`llm_tokenizer_bpe_session`).
/// Cost: O(n log n) in the bytes of one word: each merge pushes at most two candidate pairs on a heap.
struct BytePairEncoding: Sendable {
    let merges: MergeTable       // (left id, right id) -> rank and merged id
    let byteTokens: [Int32]      // byte -> token of its unicode stand-in, or -1
    let table: TokenTable
    let preTokenizer: PreTokenizer

    struct Merge: Sendable {
        var rank: Int32
        var id: Int32
    }

    /// Appends the tokens of `text[range]` (raw UTF-8, not yet byte-mapped) to `output`.
    func encode(_ text: [UInt8], _ range: Range<Int>, unknownID: Int32?, into output: inout [Int32], counter: inout Int) {
        for word in preTokenizer.split(text, range) {
            encodeWord(text, word, unknownID: unknownID, into: &output, counter: &counter)
        }
    }

    private func encodeWord(_ text: [UInt8], _ word: Range<Int>, unknownID: Int32?, into output: inout [Int32],
                            counter: inout Int) {
        var ids = word.map { byteTokens[Int(text[$0])] }
        if preTokenizer.ignoresMerges {
            let mapped = ByteLevel.encode(text[word])
            if let id = table.id(mapped) { output.append(id); return }
        }
        let count = ids.count
        var prev = (0..<count).map { Int32($0 - 1) }
        var next = (0..<count).map { Int32($0 + 1 == count ? -1 : $0 + 1) }
        var queue = Heap<PendingMerge>()
        func tryAdd(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let l = ids[Int(left)], r = ids[Int(right)]
            guard l >= 0, r >= 0, let merge = merges[l, r] else { return }
            queue.push(PendingMerge(rank: merge.rank, left: left, leftID: l, rightID: r))
        }
        for i in 1..<max(count, 1) { tryAdd(Int32(i - 1), Int32(i)) }

        while let top = queue.pop() {
            counter += 1
            let left = Int(top.left)
            let right = Int(next[left])
            // Stale unless the pair at `left` is still exactly the pair that was queued.
            guard ids[left] == top.leftID, right >= 0, ids[right] == top.rightID,
                  let merge = merges[top.leftID, top.rightID] else { continue }
            ids[left] = merge.id
            ids[right] = -2  // merged away
            next[left] = next[right]
            if next[right] >= 0 { prev[Int(next[right])] = Int32(left) }
            tryAdd(prev[left], Int32(left))
            tryAdd(Int32(left), next[left])
        }

        var i: Int32 = count > 0 ? 0 : -1
        while i >= 0 {
            let id = ids[Int(i)]
            if id >= 0 { output.append(id) } else if let unknownID { output.append(unknownID) }
            i = next[Int(i)]
        }
    }
}

/// GPT-2's reversible map from bytes to printable unicode scalars: printable Latin-1 bytes map to
/// themselves, the other 68 to U+0100 onwards in byte order (`bytes_to_unicode` in OpenAI's encoder.py).
enum ByteLevel {
    static let scalarOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var extra: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = extra
                extra += 1
            }
        }
        return table
    }()

    static let byteOfScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for byte in 0..<256 { map[scalarOfByte[byte]] = UInt8(byte) }
        return map
    }()

    /// The UTF-8 bytes of the unicode stand-ins for `bytes`.
    static func encode(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        for byte in bytes {
            let scalar = scalarOfByte[Int(byte)]
            if scalar < 0x80 {
                out.append(UInt8(scalar))
            } else {
                out.append(UInt8(0xC0 | scalar >> 6))
                out.append(UInt8(0x80 | scalar & 0x3F))
            }
        }
        return out
    }

    /// The bytes a token text stands for; scalars outside the map pass through as their UTF-8.
    static func decode(_ text: some Sequence<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in String(decoding: Array(text), as: UTF8.self).unicodeScalars {
            if let byte = byteOfScalar[scalar.value] { out.append(byte) } else { out += Array(String(scalar).utf8) }
        }
        return out
    }
}

struct PendingMerge: HeapOrdered {
    var rank: Int32
    var left: Int32
    var leftID: Int32
    var rightID: Int32

    /// Pops before `other`: lower rank first, then the leftmost pair.
    func precedes(_ other: PendingMerge) -> Bool { rank < other.rank || (rank == other.rank && left < other.left) }
}

/// Merges keyed by token pair: open addressing over a multiplicative hash of `left << 32 | right`
/// (the standard library's seeded SipHash costs more than the merge it looks up). Capacity is a power
/// of two at least twice the merge count. The first (lowest-rank) merge of a pair is kept.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [BytePairEncoding.Merge]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity count: Int) {
        var capacity = 16
        while capacity < 2 * count { capacity *= 2 }
        mask = capacity - 1
        keys = Array(repeating: Self.empty, count: capacity)
        values = Array(repeating: .init(rank: 0, id: 0), count: capacity)
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

    /// Adds a merge unless the pair already has one.
    mutating func insert(_ left: Int32, _ right: Int32, _ merge: BytePairEncoding.Merge) {
        let key = Self.key(left, right)
        var i = slot(key)
        while keys[i] != Self.empty {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = merge
    }

    subscript(left: Int32, right: Int32) -> BytePairEncoding.Merge? {
        let key = Self.key(left, right)
        var i = slot(key)
        while keys[i] != Self.empty {
            if keys[i] == key { return values[i] }
            i = (i + 1) & mask
        }
        return nil
    }
}
