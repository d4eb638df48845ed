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

    /// `table` holds the token texts; ids whose text is in `SpecialTokens.controlLooking` count as
    /// control tokens here whatever their type, as llama.cpp overrides them when it loads a vocabulary.
    init(table: TokenTable, types: [TokenType]) {
        let forced = Set((0..<table.count).filter { Self.controlLooking.contains(table.text($0)) })
        var candidates = (0..<table.count).filter {
            ([.control, .userDefined, .unknown].contains(types[$0]) || forced.contains($0)) && !table.text($0).isEmpty
        }
        candidates.sort {
            let (left, right) = (table.text($0).count, table.text($1).count)
            return left != right ? left > right : $0 < $1
        }
        ids = candidates.map { Int32($0) }
        texts = candidates.map { Array(table.text($0)) }
        alwaysCut = Set(candidates.filter { types[$0] == .userDefined && !forced.contains($0) }.map { Int32($0) })
        var trie = ByteTrie()
        // Reversed, so that of two candidates with one text the first in priority order is kept.
        for index in texts.indices.reversed() { trie.insert(texts[index], value: index) }
        self.trie = trie
    }

    var isEmpty: Bool { ids.isEmpty }

    /// The fragments of `text`, in order; raw ranges are never empty.
    ///
    /// Equivalent to llama.cpp's repeated splitting, in one pass: every occurrence of every candidate is
    /// found first; then, candidate by candidate in priority order, an occurrence is taken when it
    /// overlaps nothing taken so far (earlier candidates, and this candidate's own previous occurrence,
    /// since each fragment is searched left to right from the end of the last match).
    func partition(_ text: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var occurrences: [(candidate: Int, start: Int)] = []
        for position in text.indices {
            trie.forEachMatch(in: text, at: position) { index in
                if parseSpecial || alwaysCut.contains(ids[index]) { occurrences.append((index, position)) }
            }
        }
        guard !occurrences.isEmpty else { return [.text(0..<text.count)] }
        occurrences.sort { ($0.candidate, $0.start) < ($1.candidate, $1.start) }  // priority, then position

        var taken = [Bool](repeating: false, count: text.count)
        var spans: [(start: Int, candidate: Int)] = []
        var previousCandidate = -1, previousEnd = 0
        for (candidate, start) in occurrences {
            if candidate != previousCandidate { previousCandidate = candidate; previousEnd = 0 }
            let end = start + texts[candidate].count
            guard start >= previousEnd, !taken[start..<end].contains(true) else { continue }
            for i in start..<end { taken[i] = true }
            spans.append((start, candidate))
            previousEnd = end
        }
        spans.sort { $0.start < $1.start }

        var fragments: [Fragment] = []
        var cursor = 0
        for (start, candidate) in spans {
            if start > cursor { fragments.append(.text(cursor..<start)) }
            fragments.append(.token(ids[candidate]))
            cursor = start + texts[candidate].count
        }
        if cursor < text.count { fragments.append(.text(cursor..<text.count)) }
        return fragments
    }
}

extension SpecialTokens {
    /// Texts llama.cpp treats as control tokens whatever their stored type, because they end a turn or
    /// mark fill-in-the-middle (`llama_vocab::impl::load`, llama.cpp 0c1e570). Gemma's user-defined
    /// `</s>` is one: llama.cpp keeps it as text unless special tokens are parsed.
    static let controlLooking: Set<ArraySlice<UInt8>> = Set([
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>",
        "<|prefix|>",
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>",
        "<|suffix|>",
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>",
        "<|middle|>",
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
        "<|file_sep|>",
    ].map { ArraySlice($0.utf8) })
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
