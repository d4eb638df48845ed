/// Cuts special tokens out of text before the model's merges run, as llama.cpp's `tokenizer_st_partition`
/// does: candidates are control, user-defined and unknown tokens, longest text first (ties: lower id);
/// each candidate in turn splits every still-raw fragment at its leftmost non-overlapping occurrences.
/// User-defined tokens (Gemma's runs of spaces, tabs and newlines, HTML tags) are always cut out;
/// control and unknown tokens (`<bos>`, `<start_of_turn>`) only when the caller parses special tokens.
///
/// Only candidates that occur somewhere in the text take part, found in one pass over a byte trie; so cost
/// is O(n · longest match) plus O(n) per candidate found, whatever the number of special tokens.
struct SpecialTokens: Sendable {
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private let alwaysCut: Set<Int32>      // user-defined: cut even when not parsing special tokens
    private let ids: [Int32]               // candidates in priority order
    private let texts: [[UInt8]]
    private let trie: ByteTrie             // candidate texts; terminal value = index into `ids`

    init(tokens: [[UInt8]], types: [TokenType]) {
        var candidates = tokens.indices.filter {
            [.control, .userDefined, .unknown].contains(types[$0]) && !tokens[$0].isEmpty
        }
        candidates.sort { tokens[$0].count != tokens[$1].count ? tokens[$0].count > tokens[$1].count : $0 < $1 }
        ids = candidates.map { Int32($0) }
        texts = candidates.map { tokens[$0] }
        alwaysCut = Set(candidates.filter { types[$0] == .userDefined }.map { Int32($0) })
        var trie = ByteTrie()
        // Reversed, so that of two candidates with one text the first in priority order is kept.
        for index in texts.indices.reversed() { trie.insert(texts[index], value: index) }
        self.trie = trie
    }

    var isEmpty: Bool { ids.isEmpty }

    /// The fragments of `text`, in order; raw ranges are never empty.
    func partition(_ text: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var found = Set<Int>()  // indices into `ids` that occur in the text
        for position in text.indices {
            trie.forEachMatch(in: text, at: position) { index in
                if parseSpecial || alwaysCut.contains(ids[index]) { found.insert(index) }
            }
        }
        var fragments: [Fragment] = [.text(0..<text.count)]
        for index in found.sorted() {
            let needle = texts[index]
            var next: [Fragment] = []
            for fragment in fragments {
                guard case .text(let range) = fragment else { next.append(fragment); continue }
                var start = range.lowerBound
                var position = range.lowerBound
                while position + needle.count <= range.upperBound {
                    if text[position] == needle[0] && matches(text, at: position, needle) {
                        if position > start { next.append(.text(start..<position)) }
                        next.append(.token(ids[index]))
                        position += needle.count
                        start = position
                    } else {
                        position += 1
                    }
                }
                if start < range.upperBound { next.append(.text(start..<range.upperBound)) }
            }
            fragments = next
        }
        return fragments
    }

    private func matches(_ text: [UInt8], at position: Int, _ needle: [UInt8]) -> Bool {
        for k in needle.indices where text[position + k] != needle[k] { return false }
        return true
    }
}

/// A trie over byte strings: the root's children in a flat table (most positions fail at the first byte),
/// deeper edges in a dictionary keyed by `node << 8 | byte`.
struct ByteTrie: Sendable {
    private var rootChildren = [Int32](repeating: -1, count: 256)
    private var edges: [Int: Int32] = [:]
    private var values: [Int32] = [-1]  // per node: stored value, or -1

    mutating func insert(_ key: [UInt8], value: Int) {
        var node = 0
        for (depth, byte) in key.enumerated() {
            let existing = depth == 0 ? rootChildren[Int(byte)] : edges[node << 8 | Int(byte)] ?? -1
            if existing >= 0 {
                node = Int(existing)
            } else {
                values.append(-1)
                let child = Int32(values.count - 1)
                if depth == 0 { rootChildren[Int(byte)] = child } else { edges[node << 8 | Int(byte)] = child }
                node = Int(child)
            }
        }
        values[node] = Int32(value)
    }

    /// Calls `body` with the value of every key that starts at `text[position]`.
    func forEachMatch(in text: [UInt8], at position: Int, _ body: (Int) -> Void) {
        var node = Int(rootChildren[Int(text[position])])
        var i = position + 1
        while node >= 0 {
            if values[node] >= 0 { body(Int(values[node])) }
            guard i < text.count, let child = edges[node << 8 | Int(text[i])] else { return }
            node = Int(child)
            i += 1
        }
    }
}
