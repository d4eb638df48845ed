#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PhoenixKernels

/// Log-probabilities of a row of logits under the model's own distribution (no temperature, no
/// truncation), as OpenAI's `logprobs` reports them.
struct LogprobTable {
    private let logits: UnsafeBufferPointer<Float>
    private let logTotal: Float

    /// `logits` must stay valid while the table is used.
    init(_ logits: UnsafeBufferPointer<Float>) {
        self.logits = logits
        let largest = Kernels.largestLogit(logits).value
        let maximum = largest.isFinite ? largest : 0
        logTotal = maximum + logf(Kernels.exponentialSum(logits, maximum: maximum, scale: 1))
    }

    func logprob(_ id: Int) -> Float { logits[id] - logTotal }

    /// The `count` most likely tokens, most likely first (lower id first among equals).
    func top(_ count: Int) -> [TokenLogprob] {
        guard count > 0 else { return [] }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: count) { ids in
            let found = Kernels.largestLogits(logits, count: count, into: ids.baseAddress!)
            return (0..<found).map { TokenLogprob(id: Int(ids[$0]), logprob: logits[Int(ids[$0])] - logTotal) }
        }
    }
}
