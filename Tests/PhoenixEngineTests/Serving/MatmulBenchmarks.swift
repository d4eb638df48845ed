import Foundation
import PhoenixEngine
import PhoenixGGUF
import PhoenixKernels
import PhoenixTestSupport
import Testing

/// The decode kernels against the GEMM on the default model's matrices at small token counts (what a
/// batched decode step multiplies), median of 5. Runs only with PHOENIX_BENCH=1:
///     PHOENIX_BENCH=1 swift test -c release --filter MatmulBenchmarks
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PHOENIX_BENCH"] == "1", "set PHOENIX_BENCH=1"), .serialized)
struct MatmulBenchmarks {
    @Test func decodeKernelsAgainstTheGEMM() throws {
        let path = try #require(TestEnvironment.defaultModelPath)
        let file = try GGUFFile(path: path)
        let pool = ThreadPool(threadCount: ThreadPool.availableCores)
        for name in ["token_embd.weight", "blk.0.ffn_down.weight", "blk.0.ffn_up.weight", "blk.0.attn_q.weight"] {
            let info = try #require(file.tensor(named: name))
            let columns = info.dimensions[0], rows = info.elementCount / columns
            let w = WeightMatrix(type: info.type, rows: rows, columns: columns, bytes: file.data(for: info))
            for tokens in [1, 2, 4, 8] {
                var rng = SplitMix64(seed: 1)
                let x = rng.floats(tokens * columns)
                var out = [Float](repeating: 0, count: tokens * rows)
                func median(_ decode: Int) -> Double {
                    var times: [Double] = []
                    for _ in 0..<5 {
                        let start = DispatchTime.now()
                        Kernels.matmul(w, x, tokens: tokens, into: &out, decodeTokens: decode, pool: pool)
                        times.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
                    }
                    return times.sorted()[2]
                }
                let fused = median(tokens), gemm = median(0)
                print("{\"tensor\":\"\(name)\",\"type\":\"\(info.type)\",\"tokens\":\(tokens),\"decode_ms\":\(fused),\"gemm_ms\":\(gemm)}")
            }
        }
    }
}
