import Foundation
import PhoenixKernels
import PhoenixModels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One measured test, in the shape of one `llama-bench -o json` object so the two compare field by
/// field: `test` is "pp512" (a prompt of 512 tokens in one pass) or "tg128" (128 single-token decode
/// steps), `nDepth` the tokens already in the cache when it starts, `tokensPerSecond` the mean over
/// repetitions and `stddev` their standard deviation.
public struct BenchmarkResult: Sendable, Codable, Equatable {
    public var test: String
    public var threads: Int
    /// Tokens in the KV cache before the test's tokens (llama-bench's `n_depth`).
    public var nDepth: Int
    public var tokensPerSecond: Double
    public var stddev: Double
    /// tokens/s of each repetition, in order.
    public var samplesTokensPerSecond: [Double]
    /// The model file's name.
    public var model: String
    /// The git commit of the build (`BenchmarkEnvironment.commit`).
    public var commit: String
    /// /proc/cpuinfo's "model name".
    public var cpu: String
    /// Which form of the quantized kernels ran (`BenchmarkEnvironment.kernels`): "avx512", "avx2" or
    /// "portable".
    public var kernels: String
    /// Peak resident memory of the process so far (getrusage ru_maxrss), in bytes.
    public var peakResidentBytes: Int
    /// Weight bytes one decode step reads: every matrix once, the output matrix included.
    public var weightBytesPerToken: Int
    /// How the KV cache stored keys and values ("f16" or "f32"), under llama-bench's names.
    public var typeK: String
    public var typeV: String

    /// `weightBytesPerToken` × tokens/s: for a decode test, the weight-reading rate the speed implies.
    public var weightBytesPerSecond: Double { Double(weightBytesPerToken) * tokensPerSecond }
}

/// What `GenerationContext.benchmark` runs. Zero tokens skips a test, as in llama-bench.
public struct BenchmarkOptions: Sendable, Equatable {
    /// Prompt tokens processed in one pass into an empty cache (llama-bench `-p`).
    public var promptTokens = 512
    /// Single-token decode steps from an empty cache (llama-bench `-n`).
    public var generatedTokens = 128
    /// Timed runs of each test (llama-bench `-r`), after one untimed warm-up run.
    public var repetitions = 5
    /// Tokens in the cache before each timed run (llama-bench `-d`): a prompt of BOS and random ids,
    /// processed once, untimed, and kept; every run starts from it, so a test measures decoding or a
    /// prompt that attends to that many earlier positions.
    public var depth = 0
    /// Seeds the random token ids.
    public var seed: UInt64 = 1234
    /// Recorded in every result; `BenchmarkEnvironment.commit()` by default.
    public var commit: String? = nil

    public init(promptTokens: Int = 512, generatedTokens: Int = 128, repetitions: Int = 5) {
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.repetitions = repetitions
    }

    public func validate() throws {
        if promptTokens < 0 || generatedTokens < 0 {
            throw EngineError.invalidParameter("token counts must not be negative")
        }
        if promptTokens == 0 && generatedTokens == 0 { throw EngineError.invalidParameter("nothing to measure") }
        if depth < 0 { throw EngineError.invalidParameter("the depth must not be negative, got \(depth)") }
        if repetitions < 1 { throw EngineError.invalidParameter("repetitions must be at least 1, got \(repetitions)") }
    }
}

extension GenerationContext {
    /// Measures prompt processing and text generation separately, as llama-bench does (llama.cpp
    /// tools/llama-bench/llama-bench.cpp, `test_prompt` and `test_gen`):
    ///
    /// - pp: one pass over `promptTokens` tokens (BOS, then random valid ids) into an empty cache,
    ///   with the logits of the last token;
    /// - tg: `generatedTokens` single-token steps from an empty cache, each with its logits; the first
    ///   token is BOS, the rest random (no sampling, so only the network is timed).
    ///
    /// With a `depth`, both start from a cache holding that many tokens instead of an empty one, as
    /// llama-bench's `-d` does: the depth's prompt runs once, untimed, and each run then truncates the
    /// cache back to it.
    ///
    /// Each test runs once untimed first (tg with one token, as llama-bench warms up), then
    /// `repetitions` timed runs. Results come in the order pp, tg. Blocks the calling thread; throws
    /// `busy` if a generation is running in this context.
    public func benchmark(_ options: BenchmarkOptions = BenchmarkOptions()) throws -> [BenchmarkResult] {
        try options.validate()
        let needed = max(options.promptTokens, options.generatedTokens) + options.depth
        guard needed <= contextLimit else {
            throw EngineError.invalidParameter("\(needed) tokens do not fit the context of \(contextLimit)")
        }
        return try exclusively { try measure(options) }
    }

    private func measure(_ options: BenchmarkOptions) throws -> [BenchmarkResult] {
        let network = model.network
        let depth = options.depth
        let cache = KVCache(shape: network.shape, capacity: max(options.promptTokens, options.generatedTokens) + depth,
                            precision: kvPrecision)
        let hidden = FloatBuffer(capacity: 0)
        let logits = FloatBuffer(capacity: network.shape.vocabularySize)
        var random = SeededRandom(seed: options.seed)
        let vocabulary = network.shape.vocabularySize
        let bos = model.tokenizer.addBOS ? model.tokenizer.bosID : nil
        let firstToken = { (random: inout SeededRandom) in bos ?? random.next(below: vocabulary) }

        // The cache as a run starts: empty, or holding the depth's tokens (computed on first use).
        var depthComputed = false
        func startingCache() throws {
            cache.truncate(to: depthComputed ? depth : 0)
            guard depth > 0, !depthComputed else { return }
            try process(depth)
            depthComputed = true
        }
        // `count` prompt tokens after what the cache holds, BOS first as llama-bench's test_prompt.
        func process(_ count: Int) throws {
            var ids = [firstToken(&random)]
            while ids.count < count { ids.append(random.next(below: vocabulary)) }
            var start = 0
            while start < count {
                let chunk = ids[start..<min(count, start + Self.prefillChunk)]
                try network.forward(chunk, cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: 1,
                                    decoding: false)
                start = chunk.endIndex
            }
            network.logits(hidden.pointer, rows: 1, pool: pool, into: logits.pointer)
        }
        func prompt(_ count: Int) throws {
            try startingCache()
            try process(count)
        }
        func generate(_ count: Int) throws {
            try startingCache()
            var token = [firstToken(&random)]  // refilled in place: a step allocates nothing
            for _ in 0..<count {
                try network.forward(token[...], cache: cache, scratch: scratch, pool: pool, hidden: hidden, outputRows: 1,
                                    decoding: true)
                network.logits(hidden.pointer, rows: 1, pool: pool, into: logits.pointer)
                token[0] = random.next(below: vocabulary)
            }
        }

        let commit = options.commit ?? BenchmarkEnvironment.commit()
        let cpu = BenchmarkEnvironment.cpuModelName()
        let modelName = URL(fileURLWithPath: model.path).lastPathComponent
        let weightBytes = BenchmarkEnvironment.weightBytesPerToken(model)
        func timed(_ test: String, tokens: Int, warmUp: () throws -> Void, run: () throws -> Void) throws -> BenchmarkResult {
            try warmUp()
            var samples: [Double] = []
            for _ in 0..<options.repetitions {
                let start = DispatchTime.now()
                try run()
                samples.append(Double(tokens) / Self.seconds(since: start))
            }
            let mean = samples.reduce(0, +) / Double(samples.count)
            // Sample standard deviation, as llama-bench's stdev().
            let variance = samples.count > 1
                ? samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(samples.count - 1) : 0
            return BenchmarkResult(test: test, threads: pool.threadCount, nDepth: depth, tokensPerSecond: mean,
                                   stddev: variance.squareRoot(), samplesTokensPerSecond: samples, model: modelName,
                                   commit: commit, cpu: cpu, kernels: BenchmarkEnvironment.kernels(),
                                   peakResidentBytes: BenchmarkEnvironment.peakResidentBytes(),
                                   weightBytesPerToken: weightBytes, typeK: kvPrecision.rawValue,
                                   typeV: kvPrecision.rawValue)
        }

        var results: [BenchmarkResult] = []
        let p = options.promptTokens, n = options.generatedTokens
        if p > 0 {
            results.append(try timed("pp\(p)", tokens: p, warmUp: { try prompt(p) }, run: { try prompt(p) }))
        }
        if n > 0 {
            results.append(try timed("tg\(n)", tokens: n, warmUp: { try generate(1) }, run: { try generate(n) }))
        }
        return results
    }
}

/// The machine and build a measurement ran on.
public enum BenchmarkEnvironment {
    /// `$PHOENIX_COMMIT` if set, else `git rev-parse --short HEAD` run in the folder of the running
    /// executable (a build inside a checkout finds its repository), else "unknown". Read at run time,
    /// so a build from a modified tree reports the commit it started from.
    public static func commit() -> String {
        if let fixed = ProcessInfo.processInfo.environment["PHOENIX_COMMIT"], !fixed.isEmpty { return fixed }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let folder = FileManager.default.fileExists(atPath: executable.path)
            ? executable.deletingLastPathComponent()
            : URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder.path, "rev-parse", "--short", "HEAD"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "unknown" }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : "unknown"
    }

    /// Which form of the quantized kernels runs: "avx512" where the 512-bit ones are on
    /// (`Kernels.useWideKernels`; the others stay 256-bit), else "avx2" on x86-64, else "portable" (the
    /// scalar references and portable SIMD code).
    public static func kernels() -> String {
        #if arch(x86_64)
        Kernels.useWideKernels ? "avx512" : "avx2"
        #else
        "portable"
        #endif
    }

    /// The first "model name" line of /proc/cpuinfo, or "unknown".
    public static func cpuModelName() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    /// Peak resident memory of this process so far, from getrusage (ru_maxrss: KiB on Linux, bytes on macOS).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if canImport(Darwin)
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss)
        #else
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }  // Glibc imports the enum
        return Int(usage.ru_maxrss) * 1024
        #endif
    }

    /// Weight bytes one decode step reads: every tensor once, except that the token embedding costs one
    /// row when a separate `output.weight` exists (with tied embeddings it is the output matrix, read whole).
    public static func weightBytesPerToken(_ model: LoadedModel) -> Int {
        let tied = model.file.tensor(named: "output.weight") == nil
        return model.file.tensors.reduce(0) { sum, tensor in
            if tensor.name == "token_embd.weight" && !tied { return sum + tensor.byteCount / max(1, tensor.rowCount) }
            return sum + tensor.byteCount
        }
    }
}

/// SplitMix64: reproducible random numbers for benchmarks and load generators (token ids, prompt words).
public struct SeededRandom: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A number in 0..<bound.
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// The rate at which the CPU streams a buffer larger than its caches: the ceiling for a decode step,
/// which reads every weight once.
public struct MemoryBandwidthResult: Sendable, Codable, Equatable {
    public var test = "memory-read"
    public var threads: Int
    public var bufferBytes: Int
    /// Median over repetitions, in 10⁹ bytes per second.
    public var gigabytesPerSecond: Double
    public var samplesGigabytesPerSecond: [Double]
    public var cpu: String
    /// How long a cache line took to go from the pool's first thread to its second and back (the median
    /// of five timed runs of 2,000 round trips), in nanoseconds; nil with one thread. Two cores of a
    /// virtual machine may sit next to each other or far apart, and the host can move them: on a 2-core
    /// Zen 5 guest this read 58–137 ns or 407–449 ns over 25 rounds of `Scripts/compare-llamacpp.sh`, and
    /// the two-thread memory read was 32–50 GB/s next to each other and mostly 53–82 far apart. Decoding
    /// forks and joins about 80 times a token, and far apart each costs more.
    public var coreRoundTripNanoseconds: Double?
    /// How long the pool took to fork and join a region with nothing to do (the median of five timed
    /// runs of 2,000), in nanoseconds; nil with one thread. What each of a decode step's products pays
    /// on top of its work, at the least.
    public var forkJoinNanoseconds: Double?
}

public enum MemoryBandwidth {
    /// The median of five timed runs of `rounds` round trips of a cache line between the pool's first two
    /// threads (after one untimed run), in nanoseconds per round trip; nil for a pool of one thread. A
    /// run stops early after 50 ms (more threads than cores, each hand-over waiting for the scheduler),
    /// and is timed over the round trips it made.
    public static func coreRoundTrip(pool: ThreadPool, rounds: Int = 2_000) -> Double? {
        guard pool.threadCount >= 2 else { return nil }
        let flag = Atomic<Int>(0)
        return medianOfTimedRuns {
            flag.store(0, ordering: .sequentiallyConsistent)
            let perRoundTrip = Mutex<Double>(0)
            pool.run { thread in
                if thread == 0 {
                    let start = DispatchTime.now().uptimeNanoseconds, deadline = start + 50_000_000
                    var done = 0
                    while done < rounds {
                        flag.store(2 * done + 1, ordering: .releasing)
                        while flag.load(ordering: .acquiring) != 2 * done + 2 {}
                        done += 1
                        if done % 64 == 0 && DispatchTime.now().uptimeNanoseconds > deadline { break }
                    }
                    flag.store(-1, ordering: .releasing)  // the other thread stops
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
                    perRoundTrip.withLock { $0 = elapsed / Double(done) }
                } else if thread == 1 {
                    var expected = 1
                    while true {
                        let seen = flag.load(ordering: .acquiring)
                        if seen < 0 { return }
                        if seen == expected {
                            flag.store(expected + 1, ordering: .releasing)
                            expected += 2
                        }
                    }
                }
            }
            return perRoundTrip.withLock { $0 }
        }
    }

    /// The median of five timed runs of `regions` empty regions of the pool (after one untimed run), in
    /// nanoseconds per region; nil for a pool of one thread. A run stops early after 50 ms, as
    /// `coreRoundTrip`'s do, and is timed over the regions it ran.
    public static func forkJoin(pool: ThreadPool, regions: Int = 2_000) -> Double? {
        guard pool.threadCount >= 2 else { return nil }
        struct Nothing: ParallelTask { func run(thread: Int) {} }
        return medianOfTimedRuns {
            let start = DispatchTime.now().uptimeNanoseconds, deadline = start + 50_000_000
            var done = 0
            while done < regions {
                pool.run(Nothing())
                done += 1
                if done % 64 == 0 && DispatchTime.now().uptimeNanoseconds > deadline { break }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(done)
        }
    }

    /// `timedRun` six times; the median of the last five (the first warms the threads and caches up).
    private static func medianOfTimedRuns(_ timedRun: () -> Double) -> Double {
        let times = (0..<6).map { _ in timedRun() }.dropFirst().sorted()
        return times[times.count / 2]
    }

    /// Reads a `bufferBytes` buffer (filled first, so its pages exist) `repetitions` times, split into
    /// one contiguous part per thread, and reports the median read rate. Allocates `bufferBytes`.
    public static func measureRead(bufferBytes: Int = 1 << 30, threads: Int = 0, repetitions: Int = 5) throws
        -> MemoryBandwidthResult {
        guard bufferBytes >= 1 << 20 else { throw EngineError.invalidParameter("the buffer must be at least 1 MiB") }
        guard repetitions >= 1 else { throw EngineError.invalidParameter("repetitions must be at least 1") }
        let pool = ThreadPool(threadCount: threads > 0 ? threads : ThreadPool.availableCores)
        let lineBytes = 64, lines = bufferBytes / lineBytes
        // In 2 MB pages where the system allows (transparent huge pages, asked for before the first
        // touch). In 4 KB pages the buffer read 1.07–1.11 times slower here (paired, in one process),
        // and the output matrix's product streamed from a copy in 4 KB pages 1.22 times slower than
        // from one in 2 MB pages; from the mapped model file it streamed as fast as from 2 MB pages,
        // whether or not the mapping used them. So the 4 KB reading understated the rate at which
        // decoding can read its weights.
        let hugePage = 2 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: lines * lineBytes, alignment: hugePage)
        defer { buffer.deallocate() }
        #if os(Linux)
        _ = madvise(buffer, (lines * lineBytes) / hugePage * hugePage, MADV_HUGEPAGE)
        #endif
        buffer.initializeMemory(as: UInt8.self, repeating: 1, count: lines * lineBytes)
        let checksum = Mutex<UInt64>(0)  // consumed, so the reads cannot be optimized away

        func pass() {
            pool.parallelFor(lines, grain: 1024) { range in
                var a = SIMD4<UInt64>(), b = SIMD4<UInt64>()
                for line in range {
                    let p = UnsafeRawPointer(buffer) + line * lineBytes
                    // As the decode kernels do: without asking 4 KB ahead, the read measured here ran at
                    // about two thirds of the rate (13.1 against 20.4 GB/s, 2 threads, medians of 6).
                    Kernels.prefetch(p + 4096)
                    a &+= p.load(as: SIMD4<UInt64>.self)
                    b &+= p.load(fromByteOffset: 32, as: SIMD4<UInt64>.self)
                }
                let sum = (a &+ b).wrappedSum()
                checksum.withLock { $0 &+= sum }
            }
        }
        pass()  // warm-up
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let start = DispatchTime.now()
            pass()
            samples.append(Double(lines * lineBytes) / GenerationContext.seconds(since: start) / 1e9)
        }
        let expected = UInt64(lines * lineBytes / 8) &* 0x0101_0101_0101_0101 &* UInt64(repetitions + 1)
        precondition(checksum.withLock { $0 } == expected, "memory bandwidth: wrong checksum")
        let sorted = samples.sorted(), middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return MemoryBandwidthResult(threads: pool.threadCount, bufferBytes: lines * lineBytes, gigabytesPerSecond: median, samplesGigabytesPerSecond: samples,
                                     cpu: BenchmarkEnvironment.cpuModelName(), coreRoundTripNanoseconds: coreRoundTrip(pool: pool),
                                     forkJoinNanoseconds: forkJoin(pool: pool))
    }
}
