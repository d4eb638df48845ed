import PhoenixKernels

/// One forward pass over tokens of several sequences at once: the unit of continuous batching.
///
/// Tokens are given sequence after sequence; every weight matrix is applied to all of them in one pass
/// over the weights, while attention reads each sequence's own blocks. Tokens at or after a sequence's
/// `decodeFrom` position (the ones it generated) are handed to the matrix products as decoding tokens,
/// which take the 16-bit decode kernels; prompt tokens take a GEMM. Which kernel a token gets
/// depends on its position alone, and neither kernel's result depends on the other tokens (see
/// `Kernels.matmul`), so each token's result is the one it gets when its sequence runs alone, and a
/// sequence recomputed after preemption gets its earlier bits back.
public struct ForwardStep: Sendable {
    public struct Sequence: Sendable {
        /// Position of the sequence's first token in this step (its tokens before it are already cached).
        public var start: Int
        public var tokenCount: Int
        /// KV blocks covering positions 0..<start + tokenCount, in order.
        public var blockTable: [Int32]
        /// Whether the final hidden state of its last token is wanted (for logits).
        public var wantsOutput: Bool
        /// The first position computed as a decoded token (the prompt's length).
        public var decodeFrom: Int

        public init(start: Int, tokenCount: Int, blockTable: [Int32], wantsOutput: Bool, decodeFrom: Int) {
            self.start = start
            self.tokenCount = tokenCount
            self.blockTable = blockTable
            self.wantsOutput = wantsOutput
            self.decodeFrom = decodeFrom
        }
    }

    public var tokens: [Int] = []
    public var sequences: [Sequence] = []

    public init() {}

    public mutating func append(_ tokens: some Collection<Int>, start: Int, blockTable: [Int32], wantsOutput: Bool,
                                decodeFrom: Int) {
        sequences.append(Sequence(start: start, tokenCount: tokens.count, blockTable: blockTable, wantsOutput: wantsOutput,
                                  decodeFrom: decodeFrom))
        self.tokens.append(contentsOf: tokens)
    }

    /// Rows of `hidden` the forward pass fills, one per sequence that wants output, in sequence order.
    public var outputCount: Int { sequences.reduce(0) { $0 + ($1.wantsOutput ? 1 : 0) } }
}

/// Where each token of a forward pass sits and where its keys and values live, in the form the layers
/// use: a position and a sequence per token, a block table per sequence, and per-layer stores. Both the
/// single-sequence `KVCache` (one block as large as its capacity) and the paged pool become one of these.
struct KVView {
    let keys: [UnsafeMutableRawPointer]
    let values: [UnsafeMutableRawPointer]
    let precision: KVPrecision
    let blockSize: Int
    let rowWidth: Int
    /// Per token of the step.
    let positions: [Int]
    let sequenceOfToken: [Int]
    /// Per sequence, flattened: sequence s's table starts at tableStarts[s].
    let tables: [Int32]
    let tableStarts: [Int]
    /// One more than the largest position of the step: the most keys one query can see.
    let contextBound: Int
    /// The context the activation buffers are sized for: a contiguous cache's capacity, so they are
    /// sized once for a whole generation instead of growing (and reallocating) with every decoded
    /// token; a paged step's own bound.
    let scratchContext: Int

    /// A single sequence in a contiguous cache, at positions start..<start+count. The per-token arrays
    /// are `scratch`'s, refilled in place.
    init(_ cache: KVCache, start: Int, count: Int, scratch: Scratch) {
        keys = cache.keys
        values = cache.values
        precision = cache.precision
        blockSize = cache.capacity
        rowWidth = cache.rowWidth
        scratch.tokenPositions.removeAll(keepingCapacity: true)
        scratch.tokenPositions.append(contentsOf: start..<start + count)
        positions = scratch.tokenPositions
        scratch.tokenSequences.removeAll(keepingCapacity: true)
        scratch.tokenSequences.append(contentsOf: repeatElement(0, count: count))
        sequenceOfToken = scratch.tokenSequences
        tables = Self.oneBlock
        tableStarts = Self.firstTable
        contextBound = start + count
        scratchContext = max(cache.capacity, contextBound)
        tokens = []
        decodeCount = 0
        outputRows = []
    }

    /// A contiguous cache's block table (one block, the whole cache) and where it starts.
    private static let oneBlock: [Int32] = [0]
    private static let firstTable: [Int] = [0]

    /// Tokens of a paged step in the order the layers see them: every decoded token first (the decode
    /// kernels take the leading rows), then the prompt tokens.
    let tokens: [Int]
    let decodeCount: Int
    /// Row of the last token of each sequence that wants output, in sequence order.
    let outputRows: [Int]

    init(_ cache: PagedKVCache, step: ForwardStep) {
        keys = cache.keys
        values = cache.values
        precision = cache.precision
        blockSize = cache.blockSize
        rowWidth = cache.rowWidth
        var tokens: [Int] = [], positions: [Int] = [], owners: [Int] = [], tables: [Int32] = [], starts: [Int] = []
        var outputs = [Int](repeating: -1, count: step.sequences.count)
        tokens.reserveCapacity(step.tokens.count)
        positions.reserveCapacity(step.tokens.count)
        var bound = 0, decodeCount = 0
        for decoding in [true, false] {
            var offset = 0
            for (index, sequence) in step.sequences.enumerated() {
                for i in 0..<sequence.tokenCount where (sequence.start + i >= sequence.decodeFrom) == decoding {
                    if i == sequence.tokenCount - 1 && sequence.wantsOutput { outputs[index] = tokens.count }
                    tokens.append(step.tokens[offset + i])
                    positions.append(sequence.start + i)
                    owners.append(index)
                }
                offset += sequence.tokenCount
            }
            if decoding { decodeCount = tokens.count }
        }
        for sequence in step.sequences {
            starts.append(tables.count)
            tables.append(contentsOf: sequence.blockTable)
            bound = max(bound, sequence.start + sequence.tokenCount)
        }
        self.tokens = tokens
        self.decodeCount = decodeCount
        outputRows = outputs.filter { $0 >= 0 }
        self.positions = positions
        sequenceOfToken = owners
        self.tables = tables
        tableStarts = starts
        contextBound = bound
        scratchContext = bound
    }
}
