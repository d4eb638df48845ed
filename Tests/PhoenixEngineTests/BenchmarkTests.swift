import Foundation
import PhoenixEngine
import PhoenixKernels
import PhoenixTestSupport
import Synchronization
import Testing

/// `GenerationContext.benchmark` on the default model at tiny sizes: the shape of the results, not speed.
@Suite(.enabled(if: TestEnvironment.defaultModelTestsEnabled, "default model not installed"), .serialized)
struct BenchmarkTests {
    @Test func measuresPromptAndGenerationSeparately() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let context = GenerationContext(model: try LoadedModel(path: path), threads: 2, contextLimit: 64)
        var options = BenchmarkOptions(promptTokens: 8, generatedTokens: 4, repetitions: 2)
        options.commit = "test"
        let results = try context.benchmark(options)

        #expect(results.map(\.test) == ["pp8", "tg4"])
        for result in results {
            #expect(result.threads == 2)
            #expect(result.nDepth == 0)
            #expect(result.tokensPerSecond > 0 && result.tokensPerSecond.isFinite)
            #expect(result.stddev >= 0)
            #expect(result.samplesTokensPerSecond.count == 2)
            #expect(result.samplesTokensPerSecond.allSatisfy { $0 > 0 })
            #expect(result.model == URL(fileURLWithPath: path).lastPathComponent)
            #expect(result.commit == "test")
            #expect(!result.cpu.isEmpty)
            #if arch(x86_64)
            #expect(result.kernels == (Kernels.useWideKernels ? "avx512" : "avx2"))
            #else
            #expect(result.kernels == "portable")
            #endif
            #expect(result.peakResidentBytes > 0)
            // Every weight is read once per decode step, so a step reads most of the file.
            #expect(result.weightBytesPerToken > 0 && result.weightBytesPerToken <= context.model.file.fileSize)
            #expect(result.typeK == "f16" && result.typeV == "f16")  // the default cache, as llama-bench's
        }

        // The keys scripts read from `phoenix bench --json`.
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let object = try #require(JSONSerialization.jsonObject(with: encoder.encode(results[0])) as? [String: Any])
        for key in ["test", "threads", "n_depth", "tokens_per_second", "stddev", "model", "commit", "cpu", "kernels",
                    "peak_resident_bytes", "type_k", "type_v"] {
            #expect(object[key] != nil, "missing \(key)")
        }
    }

    @Test func rejectsEmptyOrNegativeSizes() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let context = GenerationContext(model: try LoadedModel(path: path), threads: 1, contextLimit: 16)
        #expect(throws: EngineError.self) { try context.benchmark(BenchmarkOptions(promptTokens: 0, generatedTokens: 0)) }
        #expect(throws: EngineError.self) { try context.benchmark(BenchmarkOptions(promptTokens: 8, repetitions: 0)) }
        #expect(throws: EngineError.self) { try context.benchmark(BenchmarkOptions(promptTokens: 32, generatedTokens: 1)) }
        var deep = BenchmarkOptions(promptTokens: 8, generatedTokens: 1, repetitions: 1)
        deep.depth = 9  // 8 + 9 positions, one more than the context
        #expect(throws: EngineError.self) { try context.benchmark(deep) }
        deep.depth = -1
        #expect(throws: EngineError.self) { try context.benchmark(deep) }
        deep.depth = 8
        #expect(try context.benchmark(deep).map(\.nDepth) == [8, 8])
    }

    @Test func timesEachFormatOfTheDecodeMatrices() throws {
        let path = try #require(TestEnvironment.defaultModelPath, "default model missing: run Scripts/install-model.sh")
        let model = try LoadedModel(path: path)
        let rates = try KernelRates.measure(model, threads: 1, repetitions: 2)

        // Gemma 3 270M: 18 layers of 7 projection matrices, and the token embedding as the output matrix.
        #expect(rates.reduce(0) { $0 + $1.matrices } == 18 * 7 + 1)
        #expect(Set(rates.map(\.format)).count == rates.count)
        #expect(rates.map(\.bytesPerToken) == rates.map(\.bytesPerToken).sorted(by: >))
        // The matrices and the vectors (norm weights) are everything a decode step reads.
        let vectors = model.file.tensors.filter { $0.dimensions.count < 2 }.reduce(0) { $0 + $1.byteCount }
        #expect(rates.reduce(0) { $0 + $1.bytesPerToken } + vectors == BenchmarkEnvironment.weightBytesPerToken(model))
        for rate in rates {
            #expect(rate.threads == 1)
            #expect(rate.matrixBytes > 0 && rate.matrixBytes <= KernelRates.cachedBytes)
            #expect(rate.gigabytesPerSecond > 0 && rate.gigabytesPerSecond.isFinite)
            #expect(rate.samplesGigabytesPerSecond.count == 2)
            #expect(model.file.tensor(named: rate.matrix)?.type.description == rate.format)
        }
        #expect(throws: EngineError.self) { try KernelRates.measure(model, threads: 1, repetitions: 0) }
    }
}

@Suite struct KernelRatesCeilingTests {
    static func rate(_ format: String, bytes: Int, _ gigabytesPerSecond: Double) -> KernelRateResult {
        KernelRateResult(format: format, threads: 1, matrices: 1, bytesPerToken: bytes, matrix: "m", matrixBytes: 1,
                         gigabytesPerSecond: gigabytesPerSecond, samplesGigabytesPerSecond: [gigabytesPerSecond], cpu: "")
    }

    @Test func eachFormatAtTheSlowerOfKernelAndMemory() {
        // 3 GB at 10 GB/s (the kernel) and 1 GB at 20 GB/s (memory, not the kernel's 40): 0.3 + 0.05 s for 4 GB.
        let rates = [Self.rate("A", bytes: 3_000_000_000, 10), Self.rate("B", bytes: 1_000_000_000, 40)]
        #expect(abs(KernelRates.decodeCeiling(rates, memoryGigabytesPerSecond: 20) - 4 / 0.35) < 1e-9)
        // Kernels faster than memory: memory's rate.
        #expect(abs(KernelRates.decodeCeiling([Self.rate("A", bytes: 5, 50)], memoryGigabytesPerSecond: 20) - 20) < 1e-9)
        #expect(KernelRates.decodeCeiling([], memoryGigabytesPerSecond: 20) == 0)
    }
}

/// The cache-line round trip and the empty fork and join `phoenix bench --memory-bandwidth` reports
/// beside the read rate.
@Suite struct CoreRoundTripTests {
    @Test func oneThreadHasNone() {
        #expect(MemoryBandwidth.coreRoundTrip(pool: ThreadPool(threadCount: 1)) == nil)
        #expect(MemoryBandwidth.forkJoin(pool: ThreadPool(threadCount: 1)) == nil)
    }

    /// With two threads, a time per round trip and per region; with more threads than this machine's
    /// cores (each hand-over then waits for the scheduler) both still end, cut short by their 50 ms
    /// limits, and the pool goes on working.
    @Test(arguments: [2, 2 * ThreadPool.availableCores + 1])
    func measuresAndEnds(threads: Int) throws {
        let pool = ThreadPool(threadCount: threads)
        let clock = ContinuousClock(), start = clock.now
        let nanoseconds = try #require(MemoryBandwidth.coreRoundTrip(pool: pool))
        #expect(nanoseconds > 0 && nanoseconds.isFinite)
        #expect(clock.now - start < .seconds(5), "six runs of at most 50 ms each, and the hand-overs")
        let forkStart = clock.now
        let forkJoin = try #require(MemoryBandwidth.forkJoin(pool: pool))
        #expect(forkJoin > 0 && forkJoin.isFinite)
        #expect(clock.now - forkStart < .seconds(5), "six runs of at most 50 ms each, and the last region")
        let visited = Atomic<Int>(0)
        pool.parallelFor(100) { range in visited.add(range.count, ordering: .relaxed) }  // the pool still runs regions
        #expect(visited.load(ordering: .relaxed) == 100)
    }
}
