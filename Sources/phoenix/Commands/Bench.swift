import ArgumentParser
import Foundation
import PhoenixEngine
import PhoenixKernels

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing and text generation speed, as llama.cpp's llama-bench does.",
        discussion: """
            pp<P>: one pass over P tokens (BOS, then random ids) into an empty cache. tg<N>: N single-token \
            decode steps from an empty cache. With --n-depth D both start from a cache that already holds \
            D tokens (a prompt of random ids, processed once and untimed), shown as "tg128 @ d4096". Each \
            test runs once untimed, then --repetitions times; the table shows the mean tokens/s and its \
            standard deviation. --threads and --n-depth take comma-separated lists (e.g. 1,2). With --json, \
            prints one JSON array of objects {"test", "threads", "n_depth", "tokens_per_second", "stddev", \
            "model", "commit", "cpu", "kernels", "peak_resident_bytes", ...}. \
            "commit" is $PHOENIX_COMMIT if set, else `git rev-parse --short HEAD` in the executable's \
            folder, else "unknown". --memory-bandwidth measures the memory read rate instead \
            and, with two threads or more, how long a cache line takes from one thread to another and \
            back (the cores of a virtual machine may be far apart, which slows decoding's handovers) and \
            how long the thread pool takes to fork and join a region with nothing to do. \
            --kernel-rates times each weight format's decode product on a matrix of the model small \
            enough for the caches, measures the memory read rate with a buffer the size of the model \
            file, and prints the decode weight rate those allow: each format at the smaller of its \
            kernel's rate and memory's.
            """)

    @OptionGroup var model: ModelOptions

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens (0 skips the test).")
    var promptTokens = 512

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens (0 skips the test).")
    var generatedTokens = 128

    @Option(name: [.customShort("t"), .customLong("threads")],
            help: ArgumentHelp("Threads, or a comma-separated list; 0 means every available core.", valueName: "n,..."))
    var threads = "0"

    @Option(name: [.customShort("d"), .customLong("n-depth")],
            help: ArgumentHelp("Tokens already in the cache when each test starts, or a comma-separated list.",
                               valueName: "n,..."))
    var depths = "0"

    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Timed runs of each test.")
    var repetitions = 5

    @Option(help: .cacheType)
    var cacheType = KVPrecision.f16

    @Flag(help: "Print one JSON array instead of a table.")
    var json = false

    @Flag(help: "Measure the memory read bandwidth (a streaming read of --buffer-mib) instead of the model.")
    var memoryBandwidth = false

    @Option(name: .customLong("buffer-mib"), help: "Buffer size for --memory-bandwidth, in MiB.")
    var bufferMiB = 1024

    @Flag(help: "Time each weight format's decode kernel with its matrix in the caches, against memory's read rate.")
    var kernelRates = false

    var threadCounts: [Int] { Self.integers(threads) }
    var depthCounts: [Int] { Self.integers(depths) }

    /// The comma-separated integers of `list`; an entry that is not one is left out (`validate` checks).
    static func integers(_ list: String) -> [Int] {
        list.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Whether `list` is one or more non-negative integers separated by commas.
    static func isCountList(_ list: String) -> Bool {
        let counts = integers(list)
        return !counts.isEmpty && counts.count == list.split(separator: ",").count && !counts.contains { $0 < 0 }
    }

    func validate() throws {
        if promptTokens < 0 || generatedTokens < 0 { throw ValidationError("-p and -n must not be negative") }
        if memoryBandwidth && kernelRates { throw ValidationError("--memory-bandwidth and --kernel-rates are separate runs") }
        if promptTokens == 0 && generatedTokens == 0 && !memoryBandwidth && !kernelRates { throw ValidationError("-p and -n are both 0") }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
        if !Self.isCountList(threads) { throw ValidationError("--threads takes non-negative integers separated by commas") }
        if !Self.isCountList(depths) { throw ValidationError("--n-depth takes non-negative integers separated by commas") }
        if bufferMiB < 1 { throw ValidationError("--buffer-mib must be at least 1") }
    }

    func run() throws {
        if memoryBandwidth { return try runMemoryBandwidth() }
        if kernelRates { return try runKernelRates() }
        let loaded = try model.load()
        let positions = max(promptTokens, generatedTokens) + (depthCounts.max() ?? 0)
        let trained = loaded.network.shape.contextLength
        if positions > trained {
            throw CommandError("the tests need \(positions) positions (the larger of -p and -n, plus the largest --n-depth), "
                               + "more than the model's context of \(trained)")
        }
        var options = BenchmarkOptions(promptTokens: promptTokens, generatedTokens: generatedTokens, repetitions: repetitions)
        options.commit = BenchmarkEnvironment.commit()
        var results: [BenchmarkResult] = []
        if !json { print(BenchTable.header) }
        for count in threadCounts {
            let context = GenerationContext(model: loaded, threads: count, contextLimit: max(positions, 1), kvPrecision: cacheType)
            for depth in depthCounts {
                options.depth = depth
                do {
                    for result in try context.benchmark(options) {
                        results.append(result)
                        if !json { print(BenchTable.row(result)); fflush(nil) }
                    }
                } catch let error as EngineError {
                    throw CommandError(error.description)
                }
            }
        }
        if json {
            try printJSON(results)
        } else if let last = results.last {
            print("\ncommit \(last.commit), \(last.cpu), \(last.kernels) kernels, \(cacheType) KV cache, peak resident memory "
                  + formatBytes(last.peakResidentBytes))
        }
    }

    func runMemoryBandwidth() throws {
        var results: [MemoryBandwidthResult] = []
        for count in threadCounts {
            let result = try MemoryBandwidth.measureRead(bufferBytes: bufferMiB << 20, threads: count, repetitions: repetitions)
            results.append(result)
            if !json {
                let rate = String(format: "%.2f", result.gigabytesPerSecond)
                let roundTrip = result.coreRoundTripNanoseconds.map {
                    String(format: "; a cache line's round trip between two threads: %.0f ns", $0)
                } ?? ""
                let forkJoin = result.forkJoinNanoseconds.map { String(format: "; an empty fork and join: %.0f ns", $0) } ?? ""
                print("memory read, \(result.threads) threads, \(formatBytes(result.bufferBytes)) buffer: \(rate) GB/s "
                      + "(median of \(repetitions))\(roundTrip)\(forkJoin)")
            }
        }
        if json { try printJSON(results) }
    }
}

extension BenchCommand {
    /// Per thread count: each format's kernel rate, then the memory read rate (a model-sized buffer)
    /// and the decode weight rate the two allow.
    func runKernelRates() throws {
        let loaded = try model.load()
        var report = KernelRatesReport()
        for count in threadCounts {
            let measured: [KernelRateResult], read: MemoryBandwidthResult
            do {
                measured = try KernelRates.measure(loaded, threads: count, repetitions: repetitions)
                read = try MemoryBandwidth.measureRead(bufferBytes: max(1 << 20, loaded.file.fileSize), threads: count,
                                                       repetitions: repetitions)
            } catch let error as EngineError {
                throw CommandError(error.description)
            }
            guard !measured.isEmpty else { throw CommandError("the model has no weight matrices to time") }
            let ceiling = KernelRates.decodeCeiling(measured, memoryGigabytesPerSecond: read.gigabytesPerSecond)
            report.kernels += measured
            report.memory.append(read)
            report.ceilings.append(.init(threads: read.threads, gigabytesPerSecond: ceiling,
                                         share: ceiling / read.gigabytesPerSecond))
            guard !json else { continue }
            print("\(read.threads) threads: each format's decode product on a matrix in the caches (median of \(repetitions))")
            print("| format | matrices | MB per token |   GB/s | timed                     |")
            print("| ------ | -------: | -----------: | -----: | ------------------------- |")
            for r in measured {
                print("| \(r.format.padding(toLength: 6, withPad: " ", startingAt: 0)) | \(String(r.matrices).leftPadding(8)) "
                      + "| \(String(format: "%.1f", Double(r.bytesPerToken) / 1e6).leftPadding(12)) "
                      + "| \(String(format: "%.2f", r.gigabytesPerSecond).leftPadding(6)) "
                      + "| \(r.matrix.padding(toLength: 25, withPad: " ", startingAt: 0)) |")
            }
            print(String(format: "memory read, %@ buffer: %.2f GB/s; decode weights at most %.2f GB/s, %.0f%% of it\n",
                         formatBytes(read.bufferBytes), read.gigabytesPerSecond, ceiling, 100 * ceiling / read.gigabytesPerSecond))
            fflush(nil)
        }
        if json { try printJSON(report) }
    }
}

/// `phoenix bench --kernel-rates --json`: both kinds of measurement, and the decode weight rate they
/// allow together (`KernelRates.decodeCeiling`, and as a share of the memory read), per thread count.
struct KernelRatesReport: Encodable {
    struct Ceiling: Encodable {
        var threads: Int
        var gigabytesPerSecond: Double
        var share: Double
    }

    var kernels: [KernelRateResult] = []
    var memory: [MemoryBandwidthResult] = []
    var ceilings: [Ceiling] = []
}

/// llama-bench's markdown table, with the columns that matter on one CPU.
enum BenchTable {
    static let header = """
        | model                          | threads |            test |              t/s |
        | ------------------------------ | ------: | --------------: | ---------------: |
        """

    static func row(_ r: BenchmarkResult) -> String {
        let rate = String(format: "%.2f ± %.2f", r.tokensPerSecond, r.stddev)
        let test = r.nDepth > 0 ? "\(r.test) @ d\(r.nDepth)" : r.test  // llama-bench's spelling
        return "| \(r.model.padding(toLength: 30, withPad: " ", startingAt: 0)) | \(String(r.threads).leftPadding(7)) "
            + "| \(test.leftPadding(15)) | \(rate.leftPadding(16)) |"
    }
}
