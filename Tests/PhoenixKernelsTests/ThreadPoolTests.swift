#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PhoenixKernels
import Synchronization
import Testing

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3])
    func parallelForVisitsEveryIndexOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 2, 5, 16, 17, 1000] {
            for grain in [1, 4, 16] {
                let hits = Mutex([Int](repeating: 0, count: count))
                pool.parallelFor(count, grain: grain) { range in
                    hits.withLock { for i in range { $0[i] += 1 } }
                }
                #expect(hits.withLock { $0.allSatisfy { $0 == 1 } }, "count \(count) grain \(grain)")
            }
        }
    }

    @Test(arguments: [1, 2, 3])
    func forEachChunkVisitsEveryIndexOnceInAlignedChunks(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 2, 5, 16, 17, 1000] {
            for chunk in [1, 4, 16] {
                let hits = Mutex([Int](repeating: 0, count: count))
                let misplaced = Atomic<Int>(0)
                pool.forEachChunk(count, chunk: chunk) { thread, range in
                    // One chunk per call when there is more than one thread; a lone thread may take it all.
                    let aligned = range.lowerBound % chunk == 0 && (threads == 1 || range.count <= chunk)
                    if !aligned || !(0..<threads).contains(thread) { misplaced.add(1, ordering: .relaxed) }
                    hits.withLock { for i in range { $0[i] += 1 } }
                }
                #expect(hits.withLock { $0.allSatisfy { $0 == 1 } }, "count \(count) chunk \(chunk)")
                #expect(misplaced.load(ordering: .relaxed) == 0, "count \(count) chunk \(chunk)")
            }
        }
    }

    /// A thread that is held up does less: the others take the chunks it would have had.
    @Test func forEachChunkLetsTheFreeThreadTakeMore() {
        let pool = ThreadPool(threadCount: 2)
        let taken = Mutex([0, 0])
        pool.forEachChunk(64, chunk: 1) { thread, _ in
            if thread == 0 { usleep(20_000) }  // the caller's thread stalls on each chunk it takes
            taken.withLock { $0[thread] += 1 }
        }
        let counts = taken.withLock { $0 }
        #expect(counts[0] + counts[1] == 64)
        #expect(counts[1] > counts[0], "chunks taken per thread: \(counts)")
    }

    @Test func runUsesEveryThreadIndexAndManyRegionsComplete() {
        let pool = ThreadPool(threadCount: 3)
        let total = Atomic<Int>(0)
        for _ in 0..<2_000 {
            pool.run { thread in total.add(thread + 1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 2_000 * (1 + 2 + 3))
    }

    /// The task forms (`run(_: Task)`, `forEachChunk(_:chunk:_: Task)`) reach every thread and every
    /// index as the closure forms do, also mixed with closure regions on the same pool.
    @Test(arguments: [1, 2, 3])
    func taskValuesRunLikeClosures(threads: Int) {
        struct Count: ParallelTask {
            let total: UnsafeMutablePointer<Atomic<Int>>
            func run(thread: Int) { total.pointee.add(thread + 1, ordering: .relaxed) }
        }
        struct Visit: ChunkedTask {
            let hits: UnsafeMutablePointer<Atomic<Int>>
            let chunk: Int, threads: Int
            let misplaced: UnsafeMutablePointer<Atomic<Int>>
            func run(thread: Int, range: Range<Int>) {
                let aligned = range.lowerBound % chunk == 0 && (threads == 1 || range.count <= chunk)
                if !aligned || !(0..<threads).contains(thread) { misplaced.pointee.add(1, ordering: .relaxed) }
                for i in range { hits[i].add(1, ordering: .relaxed) }
            }
        }
        let pool = ThreadPool(threadCount: threads)
        let total = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
        total.initialize(to: Atomic(0))
        defer { total.deinitialize(count: 1); total.deallocate() }
        for round in 0..<1_000 {
            if round % 2 == 0 {
                pool.run(Count(total: total))
            } else {
                pool.run { thread in total.pointee.add(thread + 1, ordering: .relaxed) }
            }
        }
        #expect(total.pointee.load(ordering: .relaxed) == 1_000 * threads * (threads + 1) / 2)

        let misplaced = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
        misplaced.initialize(to: Atomic(0))
        defer { misplaced.deinitialize(count: 1); misplaced.deallocate() }
        for count in [0, 1, 5, 17, 1000] {
            for chunk in [1, 4, 16] {
                let hits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: max(count, 1))
                for i in 0..<count { (hits + i).initialize(to: Atomic(0)) }
                pool.forEachChunk(count, chunk: chunk, Visit(hits: hits, chunk: chunk, threads: threads, misplaced: misplaced))
                #expect((0..<count).allSatisfy { hits[$0].load(ordering: .relaxed) == 1 }, "count \(count) chunk \(chunk)")
                hits.deinitialize(count: count)
                hits.deallocate()
            }
        }
        #expect(misplaced.pointee.load(ordering: .relaxed) == 0)
    }

    /// A task too large for the pool's fork lines is reached through a pointer, a small one copied: both
    /// arrive whole on every thread. A copied task that holds a reference gives it back after the join.
    @Test(arguments: [2, 3])
    func tasksOfEverySizeArriveWhole(threads: Int) {
        struct Large: ParallelTask {
            var words: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int,
                        Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int,
                        Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int,
                        Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
            let sums: UnsafeMutablePointer<Int>
            func run(thread: Int) {
                sums[thread] = withUnsafeBytes(of: words) { $0.bindMemory(to: Int.self).reduce(0, &+) }
            }
        }
        final class Box { let value: Int; init(_ value: Int) { self.value = value } }
        struct Holding: ParallelTask {
            let box: Box
            let seen: UnsafeMutablePointer<Int>
            func run(thread: Int) { seen[thread] = box.value }
        }
        #expect(MemoryLayout<Large>.size > 384)
        let pool = ThreadPool(threadCount: threads)
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: threads)
        defer { sums.deallocate() }
        for round in 1...50 {
            var large = Large(words: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                              sums: sums)
            withUnsafeMutableBytes(of: &large.words) { words in
                for i in 0..<64 { words.storeBytes(of: round * 1000 + i, toByteOffset: 8 * i, as: Int.self) }
            }
            pool.run(large)
            let expected = 64 * round * 1000 + 63 * 64 / 2
            #expect((0..<threads).allSatisfy { sums[$0] == expected }, "round \(round)")

            let box = Box(round)
            weak var held = box
            let seen = UnsafeMutablePointer<Int>.allocate(capacity: threads)
            seen.initialize(repeating: 0, count: threads)
            pool.run(Holding(box: box, seen: seen))
            #expect((0..<threads).allSatisfy { seen[$0] == round }, "round \(round)")
            seen.deallocate()
            _ = consume box
            #expect(held == nil, "the pool keeps no copy of a task after its join")
        }
    }

    /// Workers that have gone to sleep between regions (idle past their spinning) wake for the next,
    /// also when a region comes just as they fall asleep: regions after pauses of every length from none
    /// to a few milliseconds all complete. They run on a thread of their own, so that a worker left
    /// asleep fails the test (after a minute) instead of hanging it.
    @Test(arguments: [2, 3])
    func sleepingWorkersWake(threads: Int) {
        let total = Atomic<Int>(0), finished = DispatchSemaphore(value: 0)
        let regions = 400
        Thread {
            let pool = ThreadPool(threadCount: threads)
            var generator = SystemRandomNumberGenerator()
            for round in 0..<regions {
                let pause = round % 4 == 0 ? Int.random(in: 0..<3_000, using: &generator) : Int.random(in: 0..<200, using: &generator)
                usleep(UInt32(pause))
                pool.run { thread in total.add(thread + 1, ordering: .relaxed) }
            }
            finished.signal()
        }.start()
        #expect(finished.wait(timeout: .now() + 60) == .success, "a region did not finish within a minute")
        #expect(total.load(ordering: .relaxed) == regions * threads * (threads + 1) / 2)
    }
}
