/// Reference counts of the KV blocks of one pool, and which of them are free.
///
/// A block is free when no one holds it. Holders are running sequences (one reference each, also when
/// several share a block after a fork or a prefix-cache hit) and the prefix cache (one reference per
/// cached block). Plain data: the memory itself is a `PagedKVCache` indexed by the same ids.
public struct BlockPool: Sendable, Equatable {
    public let capacity: Int
    private var referenceCounts: [Int]
    /// Free ids, the next one to hand out last: a block freed recently is reused first, while its memory
    /// may still be in cache. Starts as capacity-1 … 0 so a new pool hands out 0, 1, 2, …
    private var free: [Int]

    public init(capacity: Int) {
        precondition(capacity > 0, "a block pool needs at least one block")
        self.capacity = capacity
        referenceCounts = Array(repeating: 0, count: capacity)
        free = Array((0..<capacity).reversed())
    }

    public var freeCount: Int { free.count }
    public var usedCount: Int { capacity - free.count }

    public func referenceCount(_ block: Int) -> Int { referenceCounts[block] }

    /// A free block with one reference, or nil when none is free.
    public mutating func allocate() -> Int? {
        guard let block = free.popLast() else { return nil }
        referenceCounts[block] = 1
        return block
    }

    /// One more holder of a block someone already holds.
    public mutating func retain(_ block: Int) {
        precondition(referenceCounts[block] > 0, "retaining free block \(block)")
        referenceCounts[block] += 1
    }

    /// One holder fewer; the block is free again when none is left.
    public mutating func release(_ block: Int) {
        precondition(referenceCounts[block] > 0, "releasing free block \(block)")
        referenceCounts[block] -= 1
        if referenceCounts[block] == 0 { free.append(block) }
    }
}
