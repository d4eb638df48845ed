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

    @Test func runUsesEveryThreadIndexAndManyRegionsComplete() {
        let pool = ThreadPool(threadCount: 3)
        let total = Atomic<Int>(0)
        for _ in 0..<2_000 {
            pool.run { thread in total.add(thread + 1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 2_000 * (1 + 2 + 3))
    }
}
