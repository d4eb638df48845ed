import Foundation
@testable import PhoenixEngine
import PhoenixTestSupport
import Testing

@Suite struct LogprobTableTests {
    /// Log-probabilities within 1e-5 of a log-softmax in double precision, and the top entries those of
    /// a ranking of every token, over rows of a vocabulary's size and of odd sizes.
    @Test(arguments: [1, 13, 20_001])
    func logprobsAreTheLogSoftmax(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        let logits = rng.floats(count, in: -20...15)
        let maximum = Double(logits.max()!)
        let logTotal = maximum + Foundation.log(logits.reduce(0) { $0 + Foundation.exp(Double($1) - maximum) })
        logits.withUnsafeBufferPointer { row in
            let table = LogprobTable(row)
            for id in Swift.stride(from: 0, to: count, by: max(1, count / 97)) {
                #expect(abs(Double(table.logprob(id)) - (Double(logits[id]) - logTotal)) <= 1e-5, "id \(id)")
            }
            let ranked = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            #expect(table.top(5).map(\.id) == Array(ranked.prefix(5)))
        }
    }
}
