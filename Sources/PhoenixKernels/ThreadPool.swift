#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A fork/join pool of persistent threads for the forward pass.
///
/// `run` hands one closure to every thread (the caller is thread 0) and returns when all have finished.
/// Between regions the workers spin briefly, then sleep on a condition variable, so back-to-back regions
/// (a forward pass has hundreds per token) cost microseconds while an idle pool costs no CPU.
/// `DispatchQueue.concurrentPerform` is not used: with two items it often ran both on one thread here.
/// One `run` at a time: a pool belongs to one model context.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int
    private let shared: SharedState
    private var threads: [pthread_t] = []
    /// The caller's reusable memory (`withCallerMemory`): 64-byte aligned, grown when too small.
    private var callerMemory: UnsafeMutableRawPointer?
    private var callerMemoryBytes = 0
    private var callerMemoryInUse = false
    /// The shares `forEachShare` has learned, by key. The caller's alone, as `run`.
    private var shares: LearnedShares

    /// `threadCount` threads in all, counting the caller; at least 1.
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        shared = SharedState(threadCount: self.threadCount)
        shares = LearnedShares(threadCount: self.threadCount)
        for index in 1..<self.threadCount {
            let context = Unmanaged.passRetained(WorkerContext(shared: shared, index: index))
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.shared.workerLoop(index: context.index)
                return nil
            }, context.toOpaque())
            precondition(status == 0, "pthread_create failed: \(status)")
            threads.append(thread)
        }
    }

    deinit {
        shared.stop()
        for thread in threads { pthread_join(thread, nil) }
        callerMemory?.deallocate()
        shares.deallocate()
    }

    /// Runs `body` with `bytes` of memory (64-byte aligned, contents undefined) that the pool keeps for
    /// the next call, so the work a pool's caller repeats every token (the decode products' quantized
    /// activations) allocates nothing once the memory has grown to its largest. A nested call, which
    /// would share the memory, gets its own temporary allocation instead. From the pool's caller only,
    /// as `run`.
    public func withCallerMemory<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        guard !callerMemoryInUse else {
            return withUnsafeTemporaryAllocation(byteCount: max(bytes, 1), alignment: 64) { body($0.baseAddress!) }
        }
        if bytes > callerMemoryBytes {
            callerMemory?.deallocate()
            callerMemoryBytes = max(bytes, 2 * callerMemoryBytes)
            callerMemory = UnsafeMutableRawPointer.allocate(byteCount: callerMemoryBytes, alignment: 64)
        }
        callerMemoryInUse = true
        defer { callerMemoryInUse = false }
        return body(callerMemory!)
    }

    /// The number of cores this process may use (affinity and cgroup limits included).
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Runs `body(thread)` for every thread index in `0..<threadCount` and waits for all of them.
    public func run(_ body: (Int) -> Void) {
        guard threadCount > 1 else { return body(0) }
        withoutActuallyEscaping(body) { body in shared.run(body, workers: threadCount - 1) }
    }

    /// Splits `0..<count` into one contiguous range per thread (in multiples of `grain`) and runs
    /// `body(range)` on each.
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = (count + grain - 1) / grain
        if threadCount == 1 || chunks <= 1 { return body(0..<count) }
        run { thread in
            let lower = chunks * thread / threadCount * grain
            let upper = min(count, chunks * (thread + 1) / threadCount * grain)
            if lower < upper { body(lower..<upper) }
        }
    }

    /// `run` for work that repeats every token: a value instead of a closure. Handing a closure to the
    /// other threads goes through `withoutActuallyEscaping`, which allocates a box each time (a decode
    /// step made 91 allocations that way with two threads); a task is reached through a pointer to the
    /// caller's stack, so this allocates nothing.
    public func run<Task: ParallelTask>(_ task: Task) {
        guard threadCount > 1 else { return task.run(thread: 0) }
        withUnsafePointer(to: task) { pointer in
            // One word, so the existential holds it in place rather than in a box.
            var erased: any ParallelTask = TaskPointer(pointer: pointer)
            withUnsafeMutablePointer(to: &erased) { shared.run(task: $0, workers: threadCount - 1) }
        }
    }

    /// `forEachChunk` for a task value, allocation-free as `run(_: Task)`.
    public func forEachChunk<Task: ChunkedTask>(_ count: Int, chunk: Int, _ task: Task) {
        precondition(chunk > 0, "forEachChunk: chunk must be positive")
        if threadCount == 1 || count <= chunk {
            if count > 0 { task.run(thread: 0, range: 0..<count) }
            return
        }
        shared.nextChunk.store(0, ordering: .relaxed)  // published to the workers by run's generation bump
        run(Chunks(task: task, count: count, chunk: chunk, shared: shared))
    }

    /// Runs `task` over `0..<count` in one contiguous share per thread, thread t taking the t-th, each
    /// share a multiple of `granule` (but the last). The shares are learned, per `key`, from the times
    /// the threads took the last times with that key, so that they finish together.
    ///
    /// Equal shares do not: the other threads start later than the caller (they have to see the fork),
    /// they read what the caller has just written from its caches, and one core can stream from
    /// memory faster than another. A decode step's layer products take 15–50 µs; on a 2-core Zen 5
    /// the caller waited 1.5 µs at each join, and 0.1 ms at the output product's (4% of it), where
    /// the cores were far apart (a cache line's round trip between them 0.4–0.5 µs). Taking chunks
    /// as they come would even this out, but each chunk's first bytes cost a wait for memory
    /// (see `Kernels.decodeGranule`).
    ///
    /// Keys that have not been seen get equal shares, and so do ranges too short for every thread to
    /// take four granules, which teach nothing; one granule or less the caller takes alone.
    public func forEachShare<Task: ChunkedTask>(_ count: Int, granule: Int, key: Int, _ task: Task) {
        precondition(granule > 0, "forEachShare: granule must be positive")
        guard threadCount > 1, count > granule else {
            if count > 0 { task.run(thread: 0, range: 0..<count) }
            return
        }
        let bounds = shared.shareBounds
        guard count >= 4 * granule * threadCount else {
            let equal = max(granule, (count / threadCount + granule - 1) / granule * granule)
            for t in 0...threadCount { bounds[t] = t == threadCount ? count : min(count, t * equal) }
            return run(Shares(task: task, bounds: bounds, finishTimes: shared.finishTimes))
        }
        let entry = shares.entry(for: key)
        shares.bounds(entry, count: count, granule: granule, into: bounds)
        let start = monotonicNanoseconds()
        run(Shares(task: task, bounds: bounds, finishTimes: shared.finishTimes))
        shares.learn(entry, bounds: bounds, finishTimes: shared.finishTimes, since: start)
    }

    /// Runs `body(thread, range)` over `0..<count` in chunks of `chunk` (the last may be shorter), each
    /// thread taking the next chunk as soon as it finishes one. A thread that runs slower (another
    /// process on its core, a busier cache) then does less of the work instead of keeping the others
    /// waiting at the join, as equal shares would. Chunks start at multiples of `chunk`.
    public func forEachChunk(_ count: Int, chunk: Int, _ body: (_ thread: Int, _ range: Range<Int>) -> Void) {
        precondition(chunk > 0, "forEachChunk: chunk must be positive")
        if threadCount == 1 || count <= chunk {
            if count > 0 { body(0, 0..<count) }
            return
        }
        shared.nextChunk.store(0, ordering: .relaxed)  // published to the workers by run's generation bump
        run { thread in
            while true {
                let start = shared.nextChunk.wrappingAdd(chunk, ordering: .relaxed).oldValue
                if start >= count { return }
                body(thread, start..<min(count, start + chunk))
            }
        }
    }
}

/// Work for every thread of a pool, as a value (see `ThreadPool.run(_: Task)`).
public protocol ParallelTask {
    func run(thread: Int)
}

/// Work over chunks of a range, as a value (see `ThreadPool.forEachChunk(_:chunk:_: Task)`).
public protocol ChunkedTask {
    func run(thread: Int, range: Range<Int>)
}

/// A task reached through a pointer: one word, whatever the task's size.
private struct TaskPointer<Task: ParallelTask>: ParallelTask {
    let pointer: UnsafePointer<Task>
    func run(thread: Int) { pointer.pointee.run(thread: thread) }
}

/// Thread t takes bounds[t]..<bounds[t + 1] and notes when it finished, as `forEachShare` does.
private struct Shares<Task: ChunkedTask>: ParallelTask {
    let task: Task
    let bounds: UnsafeMutablePointer<Int>
    let finishTimes: UnsafeMutablePointer<Int>

    func run(thread: Int) {
        if bounds[thread] < bounds[thread + 1] { task.run(thread: thread, range: bounds[thread]..<bounds[thread + 1]) }
        // Each thread's time on a cache line of its own, read by the caller after the join.
        finishTimes[thread * LearnedShares.timeStride] = monotonicNanoseconds()
    }
}

/// Nanoseconds of a monotonic clock.
@inline(__always)
func monotonicNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}

/// What `ThreadPool.forEachShare` has learned: for each of a few keys, the fraction of the rows each
/// thread takes. Memory set aside once; nothing here allocates after `init`.
struct LearnedShares {
    /// Keys kept; a decode step of one model uses about five (one per shape of product).
    static let capacity = 16
    /// How far one region's times move the shares: enough to settle within a few tokens, little enough
    /// that one region slowed by something else (another process on a core) moves them little.
    static let learningRate = 0.25
    /// Finish times are this many `Int`s apart: 64 bytes, a cache line each.
    static let timeStride = 8

    let threadCount: Int
    private let keys: UnsafeMutablePointer<Int>
    private let fractions: UnsafeMutablePointer<Double>  // [capacity, threadCount]
    private var used = 0
    private var nextEvicted = 0

    init(threadCount: Int) {
        self.threadCount = threadCount
        keys = .allocate(capacity: Self.capacity)
        fractions = .allocate(capacity: Self.capacity * threadCount)
    }

    func deallocate() {
        keys.deallocate()
        fractions.deallocate()
    }

    /// The entry for `key`, made (with equal shares) if there is none; past `capacity` keys, the
    /// oldest entry makes room.
    mutating func entry(for key: Int) -> Int {
        for i in 0..<used where keys[i] == key { return i }
        let i: Int
        if used < Self.capacity {
            i = used
            used += 1
        } else {
            i = nextEvicted
            nextEvicted = (nextEvicted + 1) % Self.capacity
        }
        keys[i] = key
        for t in 0..<threadCount { fractions[i * threadCount + t] = 1 / Double(threadCount) }
        return i
    }

    /// bounds[0...threadCount]: thread t's share is bounds[t]..<bounds[t + 1], every bound but the last
    /// a multiple of `granule`.
    func bounds(_ entry: Int, count: Int, granule: Int, into bounds: UnsafeMutablePointer<Int>) {
        var sum = 0.0
        bounds[0] = 0
        for t in 0..<threadCount - 1 {
            sum += fractions[entry * threadCount + t]
            let bound = Int((sum * Double(count) / Double(granule)).rounded()) * granule
            bounds[t + 1] = min(max(bound, bounds[t]), count)
        }
        bounds[threadCount] = count
    }

    /// Moves the entry's fractions toward the rates the threads reached: a thread that took longer for
    /// its rows gets fewer next time. Each fraction stays within half and one and a half times an
    /// equal share.
    func learn(_ entry: Int, bounds: UnsafePointer<Int>, finishTimes: UnsafePointer<Int>, since start: Int) {
        var total = 0.0
        for t in 0..<threadCount {
            let rows = bounds[t + 1] - bounds[t], nanoseconds = finishTimes[t * Self.timeStride] - start
            guard rows > 0, nanoseconds > 0 else { return }
            total += Double(rows) / Double(nanoseconds)
        }
        let equal = 1 / Double(threadCount)
        var sum = 0.0
        for t in 0..<threadCount {
            let rows = bounds[t + 1] - bounds[t], nanoseconds = finishTimes[t * Self.timeStride] - start
            let rate = Double(rows) / Double(nanoseconds) / total
            let f = fractions + entry * threadCount + t
            f.pointee = min(max((1 - Self.learningRate) * f.pointee + Self.learningRate * rate, equal / 2), 1.5 * equal)
            sum += f.pointee
        }
        for t in 0..<threadCount { fractions[entry * threadCount + t] /= sum }
    }
}

/// Each thread takes the next chunk when it finishes one, as `forEachChunk` does.
private struct Chunks<Task: ChunkedTask>: ParallelTask {
    let task: Task
    let count: Int
    let chunk: Int
    let shared: SharedState

    func run(thread: Int) {
        while true {
            let start = shared.nextChunk.wrappingAdd(chunk, ordering: .relaxed).oldValue
            if start >= count { return }
            task.run(thread: thread, range: start..<min(count, start + chunk))
        }
    }
}

/// What the caller and the workers share. Workers keep it alive, not the pool, so the pool can stop
/// and join them from its deinit.
private final class SharedState: @unchecked Sendable {
    /// Spin iterations before a worker sleeps: a few tens of microseconds on current CPUs.
    static let spinLimit = 20_000

    let generation = Atomic<Int>(0)
    /// The first row of the next chunk `forEachChunk` hands out.
    let nextChunk = Atomic<Int>(0)
    let unfinished = Atomic<Int>(0)
    let sleepers = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    var job: ((Int) -> Void)?  // written before `generation` is bumped, read after a worker sees the bump
    var task: UnsafeMutablePointer<any ParallelTask>?  // the same, for `run(task:)`
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// `forEachShare`'s: the shares' bounds, and each thread's finish time (a cache line apart).
    let shareBounds: UnsafeMutablePointer<Int>
    let finishTimes: UnsafeMutablePointer<Int>

    init(threadCount: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        shareBounds = .allocate(capacity: threadCount + 1)
        finishTimes = UnsafeMutableRawPointer.allocate(byteCount: 64 * threadCount, alignment: 64)
            .bindMemory(to: Int.self, capacity: LearnedShares.timeStride * threadCount)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
        shareBounds.deallocate()
        finishTimes.deallocate()
    }

    func run(_ body: @escaping (Int) -> Void, workers: Int) {
        job = body
        unfinished.store(workers, ordering: .sequentiallyConsistent)
        bump()
        body(0)
        waitForWorkers()
        job = nil
    }

    func run(task: UnsafeMutablePointer<any ParallelTask>, workers: Int) {
        self.task = task
        unfinished.store(workers, ordering: .sequentiallyConsistent)
        bump()
        task.pointee.run(thread: 0)
        waitForWorkers()
        self.task = nil
    }

    /// Spins briefly (the others usually finish within microseconds), then yields the core: with more
    /// threads than cores, a spinning waiter would keep the thread it waits for off the CPU.
    private func waitForWorkers() {
        var spins = 0
        while unfinished.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins > Self.spinLimit { sched_yield() }
        }
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        bump()
    }

    /// Publishes a new generation and wakes sleepers. A worker registers as a sleeper before its last
    /// check of `generation` (both sequentially consistent), so either it sees the bump or we see it.
    private func bump() {
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins % 1024 == 0 { sched_yield() }
                if spins >= Self.spinLimit {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen {
                        pthread_cond_wait(wake, mutex)
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            if let task { task.pointee.run(thread: index) } else { job?(index) }
            unfinished.subtract(1, ordering: .releasing)
        }
    }
}

private final class WorkerContext {
    let shared: SharedState
    let index: Int
    init(shared: SharedState, index: Int) { self.shared = shared; self.index = index }
}
