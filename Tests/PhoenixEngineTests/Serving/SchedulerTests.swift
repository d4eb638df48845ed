import PhoenixEngine
import Testing

/// The scheduler on plain data: which positions each step computes, in which blocks.
@Suite struct SchedulerTests {
    static func work(_ plan: StepPlan) -> [String] {
        plan.work.map { "\($0.sequence.id):\($0.positions.lowerBound)..<\($0.positions.upperBound)\($0.wantsOutput ? "*" : "")" }
    }

    /// Runs a plan and appends `next` to every sequence whose logits were produced.
    static func run(_ scheduler: Scheduler, _ plan: StepPlan, next: Int = 7) {
        scheduler.didRun(plan)
        for work in plan.work where work.wantsOutput { scheduler.append(next, to: work.sequence) }
    }

    @Test func longPromptsAreChunkedWithinTheTokenBudget() {
        let scheduler = Scheduler(blocks: 16, blockSize: 4, maxBatch: 4, tokenBudget: 8, prefixCaching: false)
        let a = ScheduledSequence(id: 1, tokens: Array(1...10))
        scheduler.enqueue(a)
        let first = scheduler.schedule()
        #expect(Self.work(first) == ["1:0..<8"])             // 8 of 10 prompt tokens; no logits yet
        #expect(a.blocks == [0, 1])
        Self.run(scheduler, first)

        let b = ScheduledSequence(id: 2, tokens: [5, 6, 7])
        scheduler.enqueue(b)
        let second = scheduler.schedule()
        #expect(Self.work(second) == ["1:8..<10*", "2:0..<3*"])  // the rest of A, then B is admitted
        #expect(second.tokenCount == 5)
        #expect(a.blocks == [0, 1, 2] && b.blocks == [3])
        Self.run(scheduler, second)

        let third = scheduler.schedule()
        #expect(Self.work(third) == ["1:10..<11*", "2:3..<4*"])  // both decode, one token each
        #expect(a.blocks == [0, 1, 2] && b.blocks == [3])        // still room in their last blocks
    }

    @Test func admissionStopsAtTheBatchLimitAndKeepsArrivalOrder() {
        let scheduler = Scheduler(blocks: 16, blockSize: 4, maxBatch: 2, tokenBudget: 64, prefixCaching: false)
        for id in 1...3 { scheduler.enqueue(ScheduledSequence(id: id, tokens: [id, id])) }
        let plan = scheduler.schedule()
        #expect(Self.work(plan) == ["1:0..<2*", "2:0..<2*"])
        #expect(scheduler.waiting.map(\.id) == [3])
        Self.run(scheduler, plan)
        scheduler.finish(scheduler.running[0])
        #expect(Self.work(scheduler.schedule()) == ["2:2..<3*", "3:0..<2*"])
    }

    @Test func theNewestSequenceIsPreemptedAndRecomputedLater() {
        let scheduler = Scheduler(blocks: 4, blockSize: 2, maxBatch: 2, tokenBudget: 8, prefixCaching: false)
        let a = ScheduledSequence(id: 1, tokens: [1, 2, 3]), b = ScheduledSequence(id: 2, tokens: [4, 5, 6])
        scheduler.enqueue(a)
        scheduler.enqueue(b)
        let first = scheduler.schedule()
        #expect(Self.work(first) == ["1:0..<3*", "2:0..<3*"])
        #expect(a.blocks == [0, 1] && b.blocks == [2, 3])
        Self.run(scheduler, first)
        Self.run(scheduler, scheduler.schedule())            // position 3 fits in blocks 1 and 3

        // Position 4 of A needs a fifth block: B, the newest, gives its blocks back and waits first in line.
        let third = scheduler.schedule()
        #expect(Self.work(third) == ["1:4..<5*"])
        #expect(third.preempted.map(\.id) == [2])
        #expect(a.blocks == [0, 1, 3])
        #expect(b.blocks.isEmpty && b.computed == 0 && b.tokens == [4, 5, 6, 7, 7])
        #expect(scheduler.waiting.map(\.id) == [2])
        #expect(scheduler.preemptionCount == 1)
        Self.run(scheduler, third)

        // B needs 3 blocks for its 5 tokens and only one is free: it waits.
        #expect(Self.work(scheduler.schedule()) == ["1:5..<6*"])
        #expect(scheduler.waiting.map(\.id) == [2])

        // When A ends, B runs again from the start, its generated tokens included.
        scheduler.finish(a)
        let resumed = scheduler.schedule()
        #expect(Self.work(resumed) == ["2:0..<5*"])
        #expect(b.blocks == [3, 1, 0])
        #expect(scheduler.pool.usedCount == 3)
    }

    @Test func samplesShareBlocksAndCopyThePartlyFilledOneBeforeWriting() {
        let scheduler = Scheduler(blocks: 8, blockSize: 4, maxBatch: 4, tokenBudget: 16, prefixCaching: true)
        let a = ScheduledSequence(id: 1, tokens: Array(1...10), width: 2)
        scheduler.enqueue(a)
        let first = scheduler.schedule()
        #expect(Self.work(first) == ["1:0..<10*"])
        scheduler.didRun(first)
        #expect(a.blocks == [0, 1, 2])
        let children = scheduler.fork(a, count: 1, ids: [5])
        let c = children[0]
        #expect(c.blocks == [0, 1, 2] && c.computed == 10)
        #expect([0, 1, 2].map(scheduler.pool.referenceCount) == [3, 3, 2])  // A, C, and the cache for full blocks
        scheduler.append(11, to: a)
        scheduler.append(12, to: c)

        // A prompt sharing the first two blocks arrives as the samples write their first tokens.
        let b = ScheduledSequence(id: 3, tokens: [1, 2, 3, 4, 5, 6, 7, 8, 99, 98])
        scheduler.enqueue(b)
        let second = scheduler.schedule()
        #expect(Self.work(second) == ["1:10..<11*", "5:10..<11*", "3:8..<10*"])
        #expect(second.copies.map { [$0.source, $0.destination, $0.positions] } == [[2, 3, 2]])
        #expect(a.blocks == [0, 1, 3] && c.blocks == [0, 1, 2])  // C is now block 2's only holder
        #expect(b.blocks == [0, 1, 4] && b.cachedPromptTokens == 8)
        #expect(scheduler.prefixCache!.hitTokens == 8 && scheduler.prefixCache!.queriedTokens == 20)
    }

    @Test func everyBlockComesBackWhenAllSequencesEnd() {
        let scheduler = Scheduler(blocks: 6, blockSize: 2, maxBatch: 3, tokenBudget: 6, prefixCaching: true)
        let sequences = (1...5).map { ScheduledSequence(id: $0, tokens: [1, 2, 3, $0]) }
        for s in sequences { scheduler.enqueue(s) }
        for _ in 0..<20 {
            let plan = scheduler.schedule()
            Self.run(scheduler, plan)
            for s in scheduler.running where s.tokens.count >= 7 { scheduler.finish(s) }
        }
        for s in sequences { scheduler.finish(s) }
        #expect(scheduler.running.isEmpty && scheduler.waiting.isEmpty)
        #expect(scheduler.pool.usedCount == scheduler.prefixCache!.blockCount)
        scheduler.clearPrefixCache()
        #expect(scheduler.pool.freeCount == 6)
    }
}
