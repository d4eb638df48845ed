import Foundation
import PhoenixTestSupport
import PhoenixTokenizer
import Testing

/// Tokenization throughput on the default model, one JSON line per result. Runs only with PHOENIX_BENCH=1:
///     PHOENIX_BENCH=1 swift test -c release --filter TokenizerBenchmarks
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PHOENIX_BENCH"] == "1", "set PHOENIX_BENCH=1"))
struct TokenizerBenchmarks {
    @Test func gemmaThroughput() throws {
        let t = try GemmaTests.tokenizer()
        let corpus = try TokenizerFixtures.corpus().joined(separator: "\n")
        var text = ""
        while text.utf8.count < 8 << 20 { text += corpus + "\n" }  // ~8 MB of the mixed-script corpus
        let (seconds, count) = Self.time { t.encode(text, addSpecial: false).count }
        let megabytes = Double(text.utf8.count) / 1e6
        print("""
            {"bench":"tokenize","model":"gemma-3-270m","bytes":\(text.utf8.count),"tokens":\(count),\
            "seconds":\(String(format: "%.3f", seconds)),"mbPerSecond":\(String(format: "%.2f", megabytes / seconds))}
            """)
    }

    @Test func bytePairThroughput() throws {
        let t = try BytePairEncodingTests.tokenizer(preTokenizer: "llama-bpe")
        let corpus = try TokenizerFixtures.corpus().joined(separator: "\n")
        var text = ""
        while text.utf8.count < 8 << 20 { text += corpus + "\n" }
        let (seconds, count) = Self.time { t.encode(text, addSpecial: false).count }
        let megabytes = Double(text.utf8.count) / 1e6
        print("""
            {"bench":"tokenize","model":"bpe-tiny (llama-bpe)","bytes":\(text.utf8.count),"tokens":\(count),\
            "seconds":\(String(format: "%.3f", seconds)),"mbPerSecond":\(String(format: "%.2f", megabytes / seconds))}
            """)
    }

    static func time(_ body: () -> Int) -> (Double, Int) {
        let start = ContinuousClock.now
        let result = body()
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, result)
    }
}
