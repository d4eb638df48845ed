import Foundation
import PhoenixEngine
import PhoenixTestSupport
import Testing

/// What batching and the prefix cache buy on the default model, measured in one process, one JSON line
/// per figure. Runs only with PHOENIX_BENCH=1:
///     PHOENIX_BENCH=1 swift test -c release --filter ServingBenchmarks
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PHOENIX_BENCH"] == "1", "set PHOENIX_BENCH=1"), .serialized)
struct ServingBenchmarks {
    static func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = DispatchTime.now()
        try await body()
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    static func report(_ fields: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Generated tokens per second with 1 and with 8 concurrent requests (64 tokens each, EOS ignored),
    /// median of 3 rounds.
    @Test func concurrentRequestsMultiplyThroughput() async throws {
        let engine = try ServingEngineTests.engine { $0.prefixCaching = false }
        func throughput(_ concurrency: Int) async throws -> Double {
            let tokens = 64
            let elapsed = try await Self.seconds {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<concurrency {
                        var request = try ServingEngineTests.request(ServingEngineTests.prompts[i % 8], maxTokens: tokens)
                        request.ignoreEOS = true
                        let stream = try engine.submit(request)
                        group.addTask { _ = try await ServingEngineTests.collect(stream) }
                    }
                    try await group.waitForAll()
                }
            }
            return Double(concurrency * tokens) / elapsed
        }
        _ = try await throughput(1)  // warm-up
        var single: [Double] = [], eight: [Double] = []
        for _ in 0..<3 {
            single.append(try await throughput(1))
            eight.append(try await throughput(8))
        }
        let (s, e) = (single.sorted()[1], eight.sorted()[1])
        Self.report(["benchmark": "concurrency", "single_tokens_per_second": s, "eight_tokens_per_second": e, "ratio": e / s])
    }

    /// Time to first token of a request whose 1,000-token prefix an earlier request left in the cache,
    /// against the same request on an engine without the cache; median of 3.
    @Test func sharedPrefixCutsTimeToFirstToken() async throws {
        let cached = try ServingEngineTests.engine { $0.contextLimit = 1200 }
        let uncached = try ServingEngineTests.engine { $0.contextLimit = 1200; $0.prefixCaching = false }
        let model = try #require(ServingEngineTests.model)
        var prefix = [model.tokenizer.bosID ?? 2]
        let words = model.tokenizer.encode(String(repeating: "the engine reads a shared system prompt ", count: 200), addSpecial: false)
        prefix += words.prefix(999)
        func timeToFirstToken(_ engine: ServingEngine, suffix: String) async throws -> Double {
            var request = ServingRequest(promptIDs: prefix + model.tokenizer.encode(suffix, addSpecial: false))
            request.maxTokens = 1
            return try await Self.seconds { _ = try await ServingEngineTests.collect(try engine.submit(request)) }
        }
        _ = try await timeToFirstToken(cached, suffix: " Question zero:")  // fills the cache
        var hit: [Double] = [], miss: [Double] = []
        for i in 1...3 {
            hit.append(try await timeToFirstToken(cached, suffix: " Question \(i):"))
            miss.append(try await timeToFirstToken(uncached, suffix: " Question \(i):"))
        }
        let (h, m) = (hit.sorted()[1], miss.sorted()[1])
        Self.report(["benchmark": "prefix_cache_ttft", "prefix_tokens": prefix.count, "cached_seconds": h,
                     "uncached_seconds": m, "speedup": m / h])
    }
}
