import PhoenixEngine
import Testing

@Suite struct PrefixCacheTests {
    /// Blocks of 2 tokens; a sequence's blocks are allocated from the pool and then cached.
    static func cached(_ tokens: [Int], _ cache: PrefixCache, _ pool: inout BlockPool) -> [Int] {
        let blocks = (0..<tokens.count / 2).map { _ in pool.allocate()! }
        cache.insert(tokens[...], blocks: blocks[...], pool: &pool)
        for block in blocks { pool.release(block) }  // the sequence ends; only the cache holds them
        return blocks
    }

    @Test func findsTheLongestCachedPrefixByWholeBlocks() {
        var pool = BlockPool(capacity: 8)
        let cache = PrefixCache(blockSize: 2)
        let blocks = Self.cached([1, 2, 3, 4, 5, 6], cache, &pool)
        #expect(blocks == [0, 1, 2])
        #expect(cache.match([1, 2, 3, 4, 9, 9][...], maxBlocks: 10) == [0, 1])
        #expect(cache.match([1, 2, 3][...], maxBlocks: 10) == [0])       // a partial block never matches
        #expect(cache.match([1, 2, 3, 4, 5, 6][...], maxBlocks: 2) == [0, 1])
        #expect(cache.match([2, 1][...], maxBlocks: 10) == [])
        #expect(cache.blockCount == 3)
    }

    @Test func sharedPrefixesBranchAndKeepTheFirstOwner() {
        var pool = BlockPool(capacity: 8)
        let cache = PrefixCache(blockSize: 2)
        _ = Self.cached([1, 2, 3, 4], cache, &pool)          // blocks 0, 1
        _ = Self.cached([1, 2, 7, 8], cache, &pool)          // computed again as 2, 3: [1, 2] stays block 0
        #expect(cache.blockCount == 3)
        #expect(cache.match([1, 2, 7, 8][...], maxBlocks: 9) == [0, 3])
        #expect(pool.referenceCount(2) == 0)                 // the duplicate went back to the pool
    }

    @Test func evictsLeastRecentlyUsedLeavesThatNobodyHolds() {
        var pool = BlockPool(capacity: 8)
        let cache = PrefixCache(blockSize: 2)
        _ = Self.cached([1, 2, 3, 4], cache, &pool)          // 0 → 1
        _ = Self.cached([5, 6, 7, 8], cache, &pool)          // 2 → 3
        _ = cache.match([1, 2, 3, 4][...], maxBlocks: 9)      // the first prefix is now the more recent
        pool.retain(3)                                       // a running sequence holds block 3
        #expect(cache.evict(pool: &pool) == 1)               // leaves are 1 (recent) and 3 (held): 1 goes
        #expect(cache.evict(pool: &pool) == 0)               // then its parent, now a leaf
        #expect(cache.evict(pool: &pool) == nil)             // 3 is held, 2 is not a leaf
        pool.release(3)
        #expect(cache.evict(pool: &pool) == 3)
        #expect(cache.evict(pool: &pool) == 2)
        #expect(cache.blockCount == 0)
        #expect(pool.freeCount == 8)
    }

    @Test func countsHits() {
        let cache = PrefixCache(blockSize: 4)
        cache.recordLookup(tokens: 10, hits: 8)
        cache.recordLookup(tokens: 10, hits: 0)
        #expect(cache.queriedTokens == 20 && cache.hitTokens == 8)
    }
}
