import PhoenixEngine
import Testing

@Suite struct BlockPoolTests {
    @Test func handsOutLowestIdsFirstAndReusesTheLastFreed() {
        var pool = BlockPool(capacity: 4)
        #expect(pool.allocate() == 0)
        #expect(pool.allocate() == 1)
        #expect(pool.allocate() == 2)
        pool.release(1)
        #expect(pool.freeCount == 2)
        #expect(pool.allocate() == 1)  // most recently freed first
        #expect(pool.allocate() == 3)
        #expect(pool.allocate() == nil)
        #expect(pool.usedCount == 4)
    }

    @Test func aSharedBlockIsFreeOnlyWhenEveryHolderReleasedIt() {
        var pool = BlockPool(capacity: 2)
        let block = pool.allocate()!
        pool.retain(block)
        pool.retain(block)
        #expect(pool.referenceCount(block) == 3)
        pool.release(block)
        pool.release(block)
        #expect(pool.freeCount == 1)
        pool.release(block)
        #expect(pool.freeCount == 2)
        #expect(pool.referenceCount(block) == 0)
    }
}
