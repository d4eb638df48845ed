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
        withoutActuallyEscaping(body) { body in shared.run(ClosureTask(body: body)) }
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
    /// step made 91 allocations that way with two threads); a task is copied into the pool's fork lines
    /// (or, if larger than they hold, reached through a pointer to the caller's stack), so this
    /// allocates nothing.
    public func run<Task: ParallelTask>(_ task: Task) {
        guard threadCount > 1 else { return task.run(thread: 0) }
        if let copy = shared.taskCopy(Task.self) {
            copy.initialize(to: task)
            shared.run(TaskPointer(pointer: copy))
            copy.deinitialize(count: 1)
        } else {
            withUnsafePointer(to: task) { shared.run(TaskPointer(pointer: $0)) }
        }
    }

    /// `forEachChunk` for a task value, allocation-free as `run(_: Task)`.
    public func forEachChunk<Task: ChunkedTask>(_ count: Int, chunk: Int, _ task: Task) {
        precondition(chunk > 0, "forEachChunk: chunk must be positive")
        if threadCount == 1 || count <= chunk {
            if count > 0 { task.run(thread: 0, range: 0..<count) }
            return
        }
        shared.nextChunk.pointee.store(0, ordering: .relaxed)  // published to the workers by run's generation bump
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
        shared.nextChunk.pointee.store(0, ordering: .relaxed)  // published to the workers by run's generation bump
        run { thread in
            while true {
                let start = shared.nextChunk.pointee.wrappingAdd(chunk, ordering: .relaxed).oldValue
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

/// A task reached through a pointer: one word, whatever the task's size, so the existential the workers
/// read holds it in place rather than in a box.
private struct TaskPointer<Task: ParallelTask>: ParallelTask {
    let pointer: UnsafePointer<Task>
    func run(thread: Int) { pointer.pointee.run(thread: thread) }
}

/// A closure as a task (`ThreadPool.run(_ body:)`): two words, held in place by the existential.
private struct ClosureTask: ParallelTask {
    let body: (Int) -> Void
    func run(thread: Int) { body(thread) }
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
            let start = shared.nextChunk.pointee.wrappingAdd(chunk, ordering: .relaxed).oldValue
            if start >= count { return }
            task.run(thread: thread, range: start..<min(count, start + chunk))
        }
    }
}

/// What the caller and the workers share. Workers keep it alive, not the pool, so the pool can stop
/// and join them from its deinit.
///
/// Each signal has a cache line of its own, written by one thread only: the caller's fork line (the
/// generation the workers wait on and the task they run), then the task's copy and the shares' bounds,
/// which a worker asks for all at once when it sees the fork, then one line per thread for the
/// generation it last finished and its finish time. When the generation, the count of unfinished
/// workers and the task shared a line, every fork and join moved that line back and forth between the
/// cores several times, and each thing a worker needed came from the caller's caches one after another
/// (the line, then the task through a pointer to the caller's stack, then the bounds): with the cores
/// far apart (a line's round trip 0.4–0.5 µs) a worker started its share 1.3 µs after the fork and the
/// caller waited 1.3 µs at each join, a decode step's 72 products through. An empty fork and join
/// (`phoenix bench --memory-bandwidth`, 2 threads on a Zen 5) took 1.0–1.3 µs far apart and 0.18–0.24
/// next to each other; on lines of their own, 0.73–0.80 and 0.17–0.19.
private final class SharedState: @unchecked Sendable {
    /// Spin iterations before a worker sleeps: a few tens of microseconds on current CPUs.
    static let spinLimit = 20_000
    /// Bytes of a task `ThreadPool.run(_: Task)` copies into the fork lines (a decode product's is
    /// about 120); larger tasks are reached through a pointer instead.
    static let taskCapacity = 384
    static let line = 64

    let threadCount: Int
    private let memory: UnsafeMutableRawPointer
    /// Line 0 (the caller's): the generation, bumped once per fork, and the task of that generation.
    let generation: UnsafeMutablePointer<Atomic<Int>>
    private let task: UnsafeMutablePointer<any ParallelTask>
    /// The generation the caller last published, its own copy.
    private var published = 0
    /// Lines 1...: room for a copy of the task, then `forEachShare`'s bounds (threadCount + 1 of them).
    private let taskBytes: UnsafeMutableRawPointer
    let shareBounds: UnsafeMutablePointer<Int>
    /// Where a worker's asks start and end when it sees a fork: line 1 to the bounds' last.
    private let forkLinesEnd: UnsafeMutableRawPointer
    /// One line per thread: word 0 the generation that worker last finished (unused for the caller),
    /// word 1 the thread's finish time (`forEachShare`). `finishTimes` points at the caller's word 1.
    private let threadLines: UnsafeMutableRawPointer
    let finishTimes: UnsafeMutablePointer<Int>
    /// `forEachChunk`'s next chunk, which every thread adds to: a line of its own.
    let nextChunk: UnsafeMutablePointer<Atomic<Int>>
    /// Written only when a worker goes to sleep or the pool stops.
    let sleepers = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(threadCount: Int) {
        self.threadCount = threadCount
        let line = Self.line
        let boundsLines = (8 * (threadCount + 1) + line - 1) / line
        let forkLines = 1 + Self.taskCapacity / line + boundsLines
        memory = .allocate(byteCount: (forkLines + threadCount + 1) * line, alignment: line)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: (forkLines + threadCount + 1) * line)
        generation = memory.bindMemory(to: Atomic<Int>.self, capacity: 1)
        generation.initialize(to: Atomic(0))
        task = (memory + 8).bindMemory(to: (any ParallelTask).self, capacity: 1)
        taskBytes = memory + line
        shareBounds = (taskBytes + Self.taskCapacity).bindMemory(to: Int.self, capacity: threadCount + 1)
        forkLinesEnd = memory + forkLines * line
        threadLines = forkLinesEnd
        for t in 0..<threadCount {
            (threadLines + t * line).bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        }
        finishTimes = (threadLines + 8).bindMemory(to: Int.self, capacity: LearnedShares.timeStride * threadCount)
        nextChunk = (threadLines + threadCount * line).bindMemory(to: Atomic<Int>.self, capacity: 1)
        nextChunk.initialize(to: Atomic(0))
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
        memory.deallocate()
    }

    /// Thread t's finished generation (t ≥ 1).
    private func finished(_ thread: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (threadLines + thread * Self.line).assumingMemoryBound(to: Atomic<Int>.self)
    }

    /// Room in the fork lines for a `Task`, or nil if it does not fit.
    func taskCopy<Task>(_ type: Task.Type) -> UnsafeMutablePointer<Task>? {
        guard MemoryLayout<Task>.size <= Self.taskCapacity, MemoryLayout<Task>.alignment <= Self.line else { return nil }
        return taskBytes.bindMemory(to: Task.self, capacity: 1)
    }

    /// Runs `work` on every thread (the caller's share first) and returns when all have finished.
    func run(_ work: some ParallelTask) {
        task.initialize(to: work)
        published += 1
        let generation = published
        // Release, not a full fence: the caller goes on to its share while the line travels. A worker
        // that falls asleep just now, before the bump reaches it, is woken from the join below.
        self.generation.pointee.store(generation, ordering: .releasing)
        if sleepers.load(ordering: .relaxed) > 0 { wakeSleepers() }
        work.run(thread: 0)
        waitForWorkers(generation)
        task.deinitialize(count: 1)
    }

    /// Spins briefly (the others usually finish within microseconds), then yields the core: with more
    /// threads than cores, a spinning waiter would keep the thread it waits for off the CPU. Wakes any
    /// worker that went to sleep without seeing this generation.
    private func waitForWorkers(_ generation: Int) {
        for t in 1..<threadCount {
            let done = finished(t)
            var spins = 0
            while done.pointee.load(ordering: .acquiring) != generation {
                spins += 1
                if spins % 256 == 0 && sleepers.load(ordering: .sequentiallyConsistent) > 0 { wakeSleepers() }
                if spins > Self.spinLimit { sched_yield() }
            }
        }
    }

    private func wakeSleepers() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        published += 1
        generation.pointee.store(published, ordering: .sequentiallyConsistent)
        wakeSleepers()
    }

    func workerLoop(index: Int) {
        var seen = 0
        let done = finished(index)
        while true {
            var spins = 0
            var current = generation.pointee.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins % 1024 == 0 { sched_yield() }
                if spins >= Self.spinLimit {
                    // Registered before the last check, under the mutex the caller wakes sleepers with:
                    // either this check sees the new generation, or the caller sees a sleeper (at the
                    // fork, or at the latest while it waits at the join) and wakes it.
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.pointee.load(ordering: .sequentiallyConsistent) == seen {
                        pthread_cond_wait(wake, mutex)
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                current = generation.pointee.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            // The task's copy and the bounds, which the caller has just written: asked for together,
            // rather than each when the task first reads it.
            for line in Swift.stride(from: taskBytes, to: forkLinesEnd, by: Self.line) { Kernels.prefetch(line) }
            task.pointee.run(thread: index)
            done.pointee.store(seen, ordering: .releasing)
        }
    }
}

private final class WorkerContext {
    let shared: SharedState
    let index: Int
    init(shared: SharedState, index: Int) { self.shared = shared; self.index = index }
}
