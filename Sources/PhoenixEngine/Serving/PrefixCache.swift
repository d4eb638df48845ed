/// A radix tree over full KV blocks (SGLang's RadixAttention, at block granularity): the path from the
/// root spells a token prefix one block at a time, and each node names the block that holds the keys
/// and values of its tokens. A prompt reuses the blocks of its longest cached prefix.
///
/// The cache holds one reference to each block it names. When the pool runs dry, the least recently
/// used leaf that nobody else holds is evicted, so what running sequences use is never taken, and a
/// prefix stays as long as its longest extension does. Owned by one scheduler; not thread-safe.
public final class PrefixCache {
    final class Node {
        let tokens: [Int]
        let block: Int
        weak var parent: Node?
        var children: [[Int]: Node] = [:]
        var lastUse: UInt64

        init(tokens: [Int], block: Int, parent: Node?, lastUse: UInt64) {
            self.tokens = tokens
            self.block = block
            self.parent = parent
            self.lastUse = lastUse
        }
    }

    public let blockSize: Int
    private let root = Node(tokens: [], block: -1, parent: nil, lastUse: 0)
    /// A logical clock: every lookup and insertion ticks it, so recency is exact and tests are repeatable.
    private var clock: UInt64 = 0
    public private(set) var blockCount = 0
    public private(set) var queriedTokens = 0
    public private(set) var hitTokens = 0

    public init(blockSize: Int) {
        precondition(blockSize > 0)
        self.blockSize = blockSize
    }

    /// The blocks of the longest cached prefix of `tokens`, at most `maxBlocks` of them, marked as just
    /// used. The caller takes its own reference to each block it keeps.
    public func match(_ tokens: ArraySlice<Int>, maxBlocks: Int) -> [Int] {
        clock += 1
        var node = root, blocks: [Int] = []
        var start = tokens.startIndex
        while blocks.count < maxBlocks, start + blockSize <= tokens.endIndex,
              let child = node.children[Array(tokens[start..<start + blockSize])] {
            child.lastUse = clock
            blocks.append(child.block)
            node = child
            start += blockSize
        }
        return blocks
    }

    /// Counts a prompt of `tokens` tokens that found `hits` of them cached, for the hit rate.
    public func recordLookup(tokens: Int, hits: Int) {
        queriedTokens += tokens
        hitTokens += hits
    }

    /// Records that `blocks[i]` holds tokens i·blockSize..<(i+1)·blockSize of `tokens` (full blocks only).
    /// Blocks whose prefix is already cached under another block are left to their owner; new ones gain
    /// the cache's reference.
    public func insert(_ tokens: ArraySlice<Int>, blocks: ArraySlice<Int>, pool: inout BlockPool) {
        clock += 1
        var node = root
        var start = tokens.startIndex
        for block in blocks {
            guard start + blockSize <= tokens.endIndex else { break }
            let key = Array(tokens[start..<start + blockSize])
            if let child = node.children[key] {
                child.lastUse = clock
                node = child
            } else {
                let child = Node(tokens: key, block: block, parent: node, lastUse: clock)
                node.children[key] = child
                pool.retain(block)
                blockCount += 1
                node = child
            }
            start += blockSize
        }
    }

    /// Frees the least recently used leaf block that only the cache holds. Returns the freed block, or
    /// nil when every cached block is in use (or the cache is empty).
    public func evict(pool: inout BlockPool) -> Int? {
        var victim: Node?
        var stack = Array(root.children.values)
        while let node = stack.popLast() {
            if node.children.isEmpty {
                if pool.referenceCount(node.block) == 1, victim.map({ node.lastUse < $0.lastUse || (node.lastUse == $0.lastUse && node.block < $0.block) }) ?? true {
                    victim = node
                }
            } else {
                stack.append(contentsOf: node.children.values)
            }
        }
        guard let victim, let parent = victim.parent else { return nil }
        parent.children[victim.tokens] = nil
        blockCount -= 1
        pool.release(victim.block)
        return victim.block
    }

    /// Blocks the cache names that nobody else holds (evictable at once or after their descendants).
    public func blocksHeldOnlyByCache(_ pool: BlockPool) -> Int {
        var count = 0
        var stack = Array(root.children.values)
        while let node = stack.popLast() {
            if pool.referenceCount(node.block) == 1 { count += 1 }
            stack.append(contentsOf: node.children.values)
        }
        return count
    }

    /// Drops every block (releasing the cache's references), for tests and shutdown.
    public func removeAll(pool: inout BlockPool) {
        var stack = Array(root.children.values)
        while let node = stack.popLast() {
            pool.release(node.block)
            stack.append(contentsOf: node.children.values)
        }
        root.children = [:]
        blockCount = 0
    }
}
