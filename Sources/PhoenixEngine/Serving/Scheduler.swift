/// A sequence the scheduler runs: its tokens so far (prompt, then generated) and the KV blocks that
/// hold the positions already computed.
public final class ScheduledSequence {
    public let id: Int
    public internal(set) var tokens: [Int]
    public let promptCount: Int
    /// Positions whose keys and values are in `blocks`; the tokens after them still need a forward pass.
    public internal(set) var computed = 0
    /// Block table: `blocks[i]` holds positions i·blockSize..<(i+1)·blockSize.
    public internal(set) var blocks: [Int] = []
    /// Running slots the sequence needs: its number of samples until it forks, then 1.
    public internal(set) var width: Int
    /// Prompt tokens found in the prefix cache when the sequence was first admitted.
    public internal(set) var cachedPromptTokens: Int?
    /// Leading blocks the prefix cache already knows (found there or inserted).
    var cachedBlocks = 0

    public init(id: Int, tokens: [Int], width: Int = 1) {
        precondition(!tokens.isEmpty && width >= 1)
        self.id = id
        self.tokens = tokens
        promptCount = tokens.count
        self.width = width
    }

    /// Tokens still to run through the model before the next output.
    public var pending: Int { tokens.count - computed }
}

/// What one step computes.
public struct StepPlan {
    public struct Work {
        public let sequence: ScheduledSequence
        /// Positions computed in this step.
        public let positions: Range<Int>
        /// True when the last of them is the sequence's last token: its logits choose the next token.
        public var wantsOutput: Bool { positions.upperBound == sequence.tokens.count }
    }

    /// Copy-on-write of a shared, partly filled block: copy `positions` positions of `source` into
    /// `destination` before the step writes into it.
    public struct Copy: Equatable {
        public let source: Int
        public let destination: Int
        public let positions: Int
    }

    public internal(set) var work: [Work] = []
    public internal(set) var copies: [Copy] = []
    /// Sequences sent back to the waiting queue to free their blocks; they are recomputed later.
    public internal(set) var preempted: [ScheduledSequence] = []

    public var tokenCount: Int { work.reduce(0) { $0 + $1.positions.count } }
}

/// Iteration-level scheduling (Orca) with chunked prefill (Sarathi), paged KV blocks (vLLM) and a radix
/// prefix cache (SGLang), as plain data: it decides what each step computes and which blocks hold it;
/// running the model is the caller's job.
///
/// Each step spends a token budget: first one token for every decoding sequence and the next chunk of
/// every sequence still prefilling, oldest first; then, while budget, batch slots and blocks last, the
/// first chunks of waiting sequences in arrival order. When a running sequence needs a block and none
/// can be freed, the newest running sequence is preempted: its blocks go back (its full blocks into the
/// prefix cache, so recomputing it is often cheap) and it waits at the front of the queue.
public final class Scheduler {
    public let maxBatch: Int
    public let tokenBudget: Int
    public let blockSize: Int
    public private(set) var pool: BlockPool
    public let prefixCache: PrefixCache?
    public private(set) var waiting: [ScheduledSequence] = []
    /// In admission order: the first has the highest priority.
    public private(set) var running: [ScheduledSequence] = []
    public private(set) var preemptionCount = 0

    public init(blocks: Int, blockSize: Int, maxBatch: Int, tokenBudget: Int, prefixCaching: Bool) {
        precondition(maxBatch >= 1 && tokenBudget >= maxBatch, "the token budget must cover one token per batch slot")
        self.maxBatch = maxBatch
        self.tokenBudget = tokenBudget
        self.blockSize = blockSize
        pool = BlockPool(capacity: blocks)
        prefixCache = prefixCaching ? PrefixCache(blockSize: blockSize) : nil
    }

    public func enqueue(_ sequence: ScheduledSequence) { waiting.append(sequence) }

    private var runningSlots: Int { running.reduce(0) { $0 + $1.width } }

    public func schedule() -> StepPlan {
        var plan = StepPlan()
        var budget = tokenBudget
        var index = 0
        while index < running.count, budget > 0 {
            let sequence = running[index]
            let count = min(sequence.pending, budget)
            if reserve(sequence, through: sequence.computed + count, plan: &plan) {
                plan.work.append(.init(sequence: sequence, positions: sequence.computed..<sequence.computed + count))
                budget -= count
                index += 1
            } else {
                // Free blocks by sending the newest sequence back; if that is this one, move on without it.
                let victim = running[running.count - 1]
                preempt(victim)
                plan.preempted.append(victim)
            }
        }
        // A step that had to preempt admits nothing: the blocks it freed are for the sequences already running.
        while plan.preempted.isEmpty, budget > 0, let sequence = waiting.first, runningSlots + sequence.width <= maxBatch {
            let reused = lookUpPrefix(sequence)
            let count = min(sequence.pending, budget)
            guard reserve(sequence, through: sequence.computed + count, plan: &plan) else {
                releaseBlocks(of: sequence)  // try again next step, when blocks may have come back
                break
            }
            if sequence.cachedPromptTokens == nil { sequence.cachedPromptTokens = reused }
            prefixCache?.recordLookup(tokens: sequence.tokens.count, hits: reused)
            waiting.removeFirst()
            running.append(sequence)
            plan.work.append(.init(sequence: sequence, positions: sequence.computed..<sequence.computed + count))
            budget -= count
        }
        return plan
    }

    /// Records that a plan's forward pass ran, and offers newly filled blocks to the prefix cache.
    public func didRun(_ plan: StepPlan) {
        for work in plan.work {
            work.sequence.computed = work.positions.upperBound
            cacheFullBlocks(of: work.sequence)
        }
    }

    /// Appends a sampled token; the next step computes it.
    public func append(_ token: Int, to sequence: ScheduledSequence) {
        sequence.tokens.append(token)
    }

    /// Makes `count` more sequences that share every block of `sequence` (parallel samples of one prompt).
    /// Each writes into the shared partly filled block only after copying it.
    public func fork(_ sequence: ScheduledSequence, count: Int, ids: some Sequence<Int>) -> [ScheduledSequence] {
        guard let index = running.firstIndex(where: { $0 === sequence }) else { return [] }
        var children: [ScheduledSequence] = []
        for id in ids.prefix(count) {
            let child = ScheduledSequence(id: id, tokens: sequence.tokens)
            child.computed = sequence.computed
            child.blocks = sequence.blocks
            child.cachedBlocks = sequence.cachedBlocks
            child.cachedPromptTokens = sequence.cachedPromptTokens
            for block in child.blocks { pool.retain(block) }
            children.append(child)
        }
        sequence.width = 1
        running.insert(contentsOf: children, at: index + 1)
        return children
    }

    /// Removes a finished or cancelled sequence, keeping its full blocks in the prefix cache.
    public func finish(_ sequence: ScheduledSequence) {
        if let index = running.firstIndex(where: { $0 === sequence }) {
            running.remove(at: index)
        } else if let index = waiting.firstIndex(where: { $0 === sequence }) {
            waiting.remove(at: index)
        }
        cacheFullBlocks(of: sequence)
        releaseBlocks(of: sequence)
        sequence.computed = 0
    }

    // MARK: - Blocks

    /// Blocks of the longest cached prefix, taken by the sequence. At least the last token is left to
    /// compute, because its logits are what the sequence is waiting for.
    private func lookUpPrefix(_ sequence: ScheduledSequence) -> Int {
        guard let prefixCache, sequence.blocks.isEmpty else { return 0 }
        let found = prefixCache.match(sequence.tokens[...], maxBlocks: (sequence.tokens.count - 1) / blockSize)
        for block in found { pool.retain(block) }
        sequence.blocks = found
        sequence.cachedBlocks = found.count
        sequence.computed = found.count * blockSize
        return sequence.computed
    }

    /// Makes sure the sequence owns writable blocks for positions computed..<end, or changes nothing.
    private func reserve(_ sequence: ScheduledSequence, through end: Int, plan: inout StepPlan) -> Bool {
        let partial = sequence.computed % blockSize != 0 && sequence.computed < sequence.blocks.count * blockSize
        let sharedBlock = partial ? sequence.computed / blockSize : nil
        let copyNeeded = sharedBlock.map { pool.referenceCount(sequence.blocks[$0]) > 1 } ?? false
        let newBlocks = max(0, (end + blockSize - 1) / blockSize - sequence.blocks.count)
        guard makeFree(newBlocks + (copyNeeded ? 1 : 0)) else { return false }
        if copyNeeded, let sharedBlock {
            let fresh = pool.allocate()!
            plan.copies.append(.init(source: sequence.blocks[sharedBlock], destination: fresh,
                                     positions: sequence.computed % blockSize))
            pool.release(sequence.blocks[sharedBlock])
            sequence.blocks[sharedBlock] = fresh
        }
        for _ in 0..<newBlocks { sequence.blocks.append(pool.allocate()!) }
        return true
    }

    /// Evicts cached blocks until `count` are free; false when not enough can be evicted.
    private func makeFree(_ count: Int) -> Bool {
        while pool.freeCount < count {
            guard prefixCache?.evict(pool: &pool) != nil else { return false }
        }
        return true
    }

    private func preempt(_ sequence: ScheduledSequence) {
        running.removeAll { $0 === sequence }
        cacheFullBlocks(of: sequence)
        releaseBlocks(of: sequence)
        sequence.computed = 0
        waiting.insert(sequence, at: 0)
        preemptionCount += 1
    }

    private func cacheFullBlocks(of sequence: ScheduledSequence) {
        guard let prefixCache else { return }
        let full = min(sequence.computed / blockSize, sequence.blocks.count)
        guard full > sequence.cachedBlocks else { return }
        prefixCache.insert(sequence.tokens[..<(full * blockSize)], blocks: sequence.blocks[..<full], pool: &pool)
        sequence.cachedBlocks = full
    }

    private func releaseBlocks(of sequence: ScheduledSequence) {
        for block in sequence.blocks { pool.release(block) }
        sequence.blocks = []
        sequence.cachedBlocks = 0
        sequence.computed = 0
    }

    /// Empties the prefix cache, returning its blocks to the pool.
    public func clearPrefixCache() { prefixCache?.removeAll(pool: &pool) }
}
