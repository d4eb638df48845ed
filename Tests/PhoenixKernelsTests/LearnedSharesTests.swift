#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import PhoenixKernels
import Synchronization
import Testing

/// `ThreadPool.forEachShare`: one contiguous share per thread, learned from how long each thread took.
@Suite struct LearnedSharesTests {
    /// Records, per call, the thread and its range.
    struct Recorder: ChunkedTask {
        final class Calls: Sendable {
            let list = Mutex<[(thread: Int, range: Range<Int>)]>([])
        }
        let calls = Calls()
        var delayPerRow: [Int: UInt32] = [:]  // microseconds, by thread

        func run(thread: Int, range: Range<Int>) {
            if let delay = delayPerRow[thread] { usleep(delay * UInt32(range.count)) }
            calls.list.withLock { $0.append((thread, range)) }
        }
    }

    @Test(arguments: [1, 2, 3])
    func everyIndexOnceInOneAlignedSharePerThread(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 17, 63, 64, 200, 1000, 4099] {
            for granule in [1, 16] {
                for _ in 0..<4 {  // the shares move between calls with the same key
                    let recorder = Recorder()
                    pool.forEachShare(count, granule: granule, key: count * 100 + granule, recorder)
                    let calls = recorder.calls.list.withLock { $0 }
                    var hits = [Int](repeating: 0, count: count)
                    for call in calls { for i in call.range { hits[i] += 1 } }
                    #expect(hits.allSatisfy { $0 == 1 }, "count \(count) granule \(granule)")
                    #expect(calls.allSatisfy { $0.range.lowerBound % granule == 0 && (0..<threads).contains($0.thread) },
                            "count \(count) granule \(granule): \(calls)")
                    #expect(Set(calls.map(\.thread)).count == calls.count, "a thread called twice: \(calls)")
                }
            }
        }
    }

    /// Fed times in which thread 1 takes twice as long per row, the shares settle where both finish
    /// together: two thirds of the rows for thread 0.
    @Test func sharesSettleWhereTheThreadsFinishTogether() {
        var shares = LearnedShares(threadCount: 2)
        defer { shares.deallocate() }
        let entry = shares.entry(for: 42)
        let bounds = UnsafeMutablePointer<Int>.allocate(capacity: 3), times = UnsafeMutablePointer<Int>.allocate(capacity: 16)
        defer { bounds.deallocate(); times.deallocate() }
        shares.bounds(entry, count: 1024, granule: 16, into: bounds)
        #expect(bounds[0] == 0 && bounds[1] == 512 && bounds[2] == 1024)
        for _ in 0..<40 {
            shares.bounds(entry, count: 1024, granule: 16, into: bounds)
            times[0] = 1_000 + 10 * (bounds[1] - bounds[0])
            times[LearnedShares.timeStride] = 1_000 + 20 * (bounds[2] - bounds[1])
            shares.learn(entry, bounds: bounds, finishTimes: times, since: 1_000)
        }
        shares.bounds(entry, count: 1024, granule: 16, into: bounds)
        #expect((672...688).contains(bounds[1]) && bounds[1] % 16 == 0, "thread 0 takes \(bounds[1]) of 1024 rows")
        // Another key starts from equal shares.
        shares.bounds(shares.entry(for: 7), count: 1024, granule: 16, into: bounds)
        #expect(bounds[1] == 512)
    }

    /// However slow a thread is, it keeps at least half an equal share, and the others at most one and
    /// a half; three threads at the same speed keep equal shares.
    @Test func sharesStayWithinBounds() {
        var two = LearnedShares(threadCount: 2), three = LearnedShares(threadCount: 3)
        defer { two.deallocate(); three.deallocate() }
        let bounds = UnsafeMutablePointer<Int>.allocate(capacity: 4), times = UnsafeMutablePointer<Int>.allocate(capacity: 24)
        defer { bounds.deallocate(); times.deallocate() }
        let slow = two.entry(for: 1)
        for _ in 0..<40 {
            two.bounds(slow, count: 960, granule: 16, into: bounds)
            times[0] = 10 * (bounds[1] - bounds[0])
            times[LearnedShares.timeStride] = 1_000 * (bounds[2] - bounds[1])
            two.learn(slow, bounds: bounds, finishTimes: times, since: 0)
        }
        two.bounds(slow, count: 960, granule: 16, into: bounds)
        #expect(bounds[1] == 720, "thread 0 takes \(bounds[1]) of 960 rows")
        let even = three.entry(for: 1)
        for _ in 0..<10 {
            three.bounds(even, count: 960, granule: 16, into: bounds)
            for t in 0..<3 { times[t * LearnedShares.timeStride] = 5 * (bounds[t + 1] - bounds[t]) }
            three.learn(even, bounds: bounds, finishTimes: times, since: 0)
        }
        three.bounds(even, count: 960, granule: 16, into: bounds)
        #expect(bounds[1] == 320 && bounds[2] == 640)
    }

    /// Past `capacity` keys, the oldest entry is reused, starting again from equal shares.
    @Test func theOldestKeyMakesRoom() {
        var shares = LearnedShares(threadCount: 2)
        defer { shares.deallocate() }
        let entries = (0..<LearnedShares.capacity).map { shares.entry(for: $0) }
        #expect(Set(entries).count == LearnedShares.capacity)
        #expect(shares.entry(for: 3) == entries[3])
        #expect(shares.entry(for: 1_000) == entries[0])
        #expect(shares.entry(for: 1_001) == entries[1])
    }

    /// Through a real pool: with the worker held up on every row, the caller's thread takes more.
    @Test func theFasterThreadTakesMore() {
        let pool = ThreadPool(threadCount: 2)
        var last: [(thread: Int, range: Range<Int>)] = []
        for _ in 0..<8 {
            let recorder = Recorder(delayPerRow: [1: 50])
            pool.forEachShare(256, granule: 16, key: 9, recorder)
            last = recorder.calls.list.withLock { $0 }
        }
        let callerRows = last.first { $0.thread == 0 }?.range.count ?? 0
        #expect(callerRows > 160, "the caller's thread took \(callerRows) of 256 rows: \(last)")
    }
}
