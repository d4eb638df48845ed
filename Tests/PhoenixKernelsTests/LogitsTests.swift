import Foundation
import PhoenixKernels
import PhoenixTestSupport
import Testing

@Suite struct LogitsTests {
    /// A row of logits with what a sampler meets: ties, −∞ (a banned token), NaN (a broken model), and a
    /// spread of several logits.
    static func row(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var logits = rng.floats(count, in: -12...6)
        for i in logits.indices {
            switch rng.next() % 16 {
            case 0: logits[i] = -.infinity
            case 1: logits[i] = .nan
            case 2: logits[i] = logits[Int(rng.next() % UInt64(count))]  // a tie, unless it drew a NaN
            default: break
            }
        }
        return logits
    }

    @Test(arguments: [1, 2, 7, 8, 9, 15, 16, 17, 63, 1000, 4099])  // tails, one run, many runs
    func largestLogitMatchesReference(count: Int) {
        for seed in 0..<20 as Range<UInt64> {
            var logits = Self.row(count, seed: seed &* 31 &+ UInt64(count))
            if seed % 5 == 0 { logits[Int(seed) % count] = 7 }  // one clear winner, sometimes in the tail
            if seed % 7 == 1, count > 3 { logits[count - 1] = 9; logits[count - 3] = 9 }  // a tie for the best
            logits.withUnsafeBufferPointer { row in
                let fast = Kernels.largestLogit(row), slow = Reference.largestLogit(row)
                #expect(fast.index == slow.index && fast.value == slow.value, "count \(count), seed \(seed)")
            }
        }
    }

    @Test func largestLogitWithoutANumber() {
        for logits: [Float] in [[], [.nan], [.nan, .nan, .nan], [.nan, -.infinity, .nan]] + [Array(repeating: .nan, count: 19)] {
            logits.withUnsafeBufferPointer { row in
                let fast = Kernels.largestLogit(row), slow = Reference.largestLogit(row)
                #expect(fast.index == slow.index && fast.value == slow.value, "\(logits)")
            }
        }
        var nine = [Float](repeating: .nan, count: 9)
        nine[8] = -.infinity
        nine.withUnsafeBufferPointer { #expect(Kernels.largestLogit($0).index == 8) }
    }

    @Test(arguments: [1, 7, 8, 9, 17, 1000, 4099])
    func exponentialSumMatchesReference(count: Int) {
        for seed in 0..<5 as Range<UInt64> {
            let logits = Self.row(count, seed: 100 + seed &* 7 &+ UInt64(count))
            logits.withUnsafeBufferPointer { row in
                let maximum = Reference.largestLogit(row).value
                for scale: Float in [1, 1 / 0.7, 1 / 3] where maximum.isFinite {
                    let fast = Kernels.exponentialSum(row, maximum: maximum, scale: scale)
                    let slow = Reference.exponentialSum(row, maximum: maximum, scale: scale)
                    #expect(abs(fast - slow) <= 2e-6 * slow, "count \(count), seed \(seed), scale \(scale)")
                }
            }
        }
    }

    /// Targets spread over the sum land on the reference's index, but for a target within rounding of
    /// where one index's share ends and the next one's begins.
    @Test(arguments: [1, 7, 8, 9, 17, 1000, 4099])
    func drawnIndexMatchesReference(count: Int) {
        var rng = SplitMix64(seed: 500 + UInt64(count))
        let logits = Self.row(count, seed: 200 + UInt64(count))
        logits.withUnsafeBufferPointer { row in
            let maximum = Reference.largestLogit(row).value
            guard maximum.isFinite else { return }
            let total = Kernels.exponentialSum(row, maximum: maximum, scale: 1)
            var ends: [Double] = []  // where each index's share ends, in double precision
            var running: Double = 0
            for logit in logits {
                let exponent = Double(logit) - Double(maximum)
                running += logit.isNaN || exponent < -87 ? 0 : Foundation.exp(exponent)
                ends.append(running)
            }
            var compared = 0
            for _ in 0..<400 {
                let target = Float(Double(rng.next() >> 11) / Double(1 << 53)) * total
                let near = ends.contains { abs($0 - Double(target)) <= 1e-5 * Double(total) }
                guard !near else { continue }
                let fast = Kernels.drawnIndex(row, maximum: maximum, scale: 1, target: target)
                let slow = Reference.drawnIndex(row, maximum: maximum, scale: 1, target: target)
                #expect(fast == slow, "count \(count), target \(target) of \(total)")
                if let fast { #expect(logits[fast] > -.infinity, "drew \(logits[fast])") }  // never NaN, never −∞
                compared += 1
            }
            #expect(compared > 300)
            // Past the sum there is nothing to draw.
            #expect(Kernels.drawnIndex(row, maximum: maximum, scale: 1, target: total * 1.001) == nil)
        }
    }

    /// A banned token (logit −∞) and one far below the best weigh nothing, even for a draw of zero or of
    /// just under the sum.
    @Test func aDrawNeverLandsOnATokenWithoutWeight() {
        var logits = [Float](repeating: -.infinity, count: 21)
        logits[1] = -300
        logits[9] = 2
        logits[20] = -150
        logits.withUnsafeBufferPointer { row in
            let total = Kernels.exponentialSum(row, maximum: 2, scale: 1)
            #expect(total == 1)
            for target: Float in [0, 0.5, total.nextDown] {
                #expect(Kernels.drawnIndex(row, maximum: 2, scale: 1, target: target) == 9, "target \(target)")
            }
            #expect(Kernels.drawnIndex(row, maximum: 2, scale: 1, target: total) == nil)
        }
    }

    @Test(arguments: [1, 7, 8, 9, 17, 1000, 4099])
    func largestLogitsMatchReference(count: Int) {
        var logits = Self.row(count, seed: 400 + UInt64(count))
        if count > 20 { for i in Swift.stride(from: 3, to: count, by: count / 5) { logits[i] = 6.5 } }  // ties at the top
        for wanted in [0, 1, 2, 5, 20, count, count + 3] {
            var fast = [Int32](repeating: -1, count: max(1, wanted)), slow = fast
            let found = logits.withUnsafeBufferPointer { Kernels.largestLogits($0, count: wanted, into: &fast) }
            let expected = logits.withUnsafeBufferPointer { Reference.largestLogits($0, count: wanted, into: &slow) }
            #expect(found == expected && fast == slow, "count \(count), wanted \(wanted)")
        }
    }

    @Test(arguments: [1, 7, 8, 9, 17, 1000, 4099])
    func indicesMatchReference(count: Int) {
        let logits = Self.row(count, seed: 300 + UInt64(count))
        for threshold: Float in [-.infinity, -5, 0, 5.5, 100] {
            var fast = [Int32](repeating: -1, count: count), slow = fast
            let found = logits.withUnsafeBufferPointer { Kernels.indices($0, atLeast: threshold, into: &fast) }
            let expected = logits.withUnsafeBufferPointer { Reference.indices($0, atLeast: threshold, into: &slow) }
            #expect(found == expected && fast == slow, "count \(count), threshold \(threshold)")
        }
    }
}
