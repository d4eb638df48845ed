import PhoenixKernels
import PhoenixQuant
import PhoenixTestSupport
import Testing

#if arch(x86_64)
@Suite struct Int16GemmTests {
    static let formats: [QuantType] = [.q8_0, .q5_0, .q4_K, .q6_K, .q4_0, .q5_K, .q4_1, .q5_1, .q3_K, .q2_K, .q8_K,
                                       .iq4_NL, .iq4_XS, .mxfp4]

    /// The GEMM gives the scalar twin's bits for every row and token, at row counts that leave short
    /// tiles of three and short panels of 24, and token counts that leave a short group of 16, with one
    /// thread (all rows in one share) and two; with the 512-bit tile where the CPU has it, and the 256-bit
    /// one.
    @Test(arguments: formats, [(1, 1, 2), (2, 17, 2), (4, 16, 1), (25, 3, 2), (50, 33, 1), (50, 33, 2)])
    func kernelMatchesTheReferenceBitForBit(type: QuantType, size: (rows: Int, tokens: Int, threads: Int)) throws {
        let columns = 3 * type.traits.weightsPerBlock
        var rng = SplitMix64(seed: UInt64(type.rawValue) * 17 + UInt64(size.rows))
        let bytes = Quantization.quantize(type, rng.floats(size.rows * columns, in: -2...2))
        var x = rng.floats(size.tokens * columns, in: -4...4)
        x[7] = 60  // an outlier in one block of the first token
        let reference = Int16DotTests.Quantized(x, tokens: size.tokens, columns: columns)
        let stride = size.rows + 1
        let pool = ThreadPool(threadCount: size.threads)
        try Int16DotTests.withEachKernelWidth { wide in
            var out = [Float](repeating: .nan, count: size.tokens * stride)
            try bytes.withUnsafeBytes { raw in
                let w = WeightMatrix(type: type, rows: size.rows, columns: columns, bytes: raw)
                let memory = UnsafeMutableRawPointer.allocate(
                    byteCount: Kernels.Int16TokenGroups.byteCount(tokens: size.tokens, columns: columns), alignment: 64)
                defer { memory.deallocate() }
                let groups = Kernels.Int16TokenGroups(tokens: size.tokens, columns: columns, memory: memory)
                x.withUnsafeBufferPointer { groups.quantize($0.baseAddress!, pool: pool) }
                Kernels.int16Gemm(w, groups, into: &out, stride: stride, pool: pool)
                for t in 0..<size.tokens {
                    for r in 0..<size.rows {
                        let expected = try #require(Reference.int16GemmDot(type, w.base + r * w.rowBytes, reference.activations, token: t))
                        #expect(out[t * stride + r].bitPattern == expected.bitPattern, "wide \(wide), row \(r) token \(t)")
                    }
                    #expect(out[t * stride + size.rows].isNaN)  // the stride's spare column is left alone
                }
            }
        }
    }

    /// Against the float definition (the reference dequantizer's weights times the unquantized
    /// activations, in double precision), the error stays within what rounding the activations allows:
    /// Σ|w|·scale/2 over the row, plus float rounding.
    @Test(arguments: formats, [1, 4, 9])
    func resultIsWithinTheActivationRoundingBound(type: QuantType, blocks: Int) {
        let columns = blocks * type.traits.weightsPerBlock
        var rng = SplitMix64(seed: UInt64(blocks) * 37 + UInt64(type.rawValue))
        let bytes = Quantization.quantize(type, rng.floats(columns, in: -2...2))
        let weights = Quantization.dequantize(type, bytes)
        var x = rng.floats(2 * columns, in: -3...3)
        x[columns + 5] = 40  // the second token has an outlier: its block's scale grows, the others' do not
        let reference = Int16DotTests.Quantized(x, tokens: 2, columns: columns)
        var out: [Float] = [0, 0]
        bytes.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rows: 1, columns: columns, bytes: raw)
            Kernels.matmul(w, x, tokens: 2, into: &out, decodeTokens: 0, pool: ThreadPool(threadCount: 1))
        }
        for t in 0..<2 {
            var exact = 0.0, bound = 0.0, magnitude = 0.0
            for c in 0..<columns {
                exact += Double(weights[c]) * Double(x[t * columns + c])
                bound += Double(abs(weights[c])) * Double(reference.activations.scales[t * columns / 32 + c / 32]) / 2
                magnitude += abs(Double(weights[c]) * Double(x[t * columns + c]))
            }
            #expect(abs(Double(out[t]) - exact) <= bound + 1e-6 * magnitude, "token \(t): \(out[t]) vs \(exact), bound \(bound)")
            #expect(bound < 1e-3 * magnitude)
        }
    }

    /// A block holding an infinity or NaN makes that token's products NaN, not garbage; other tokens
    /// of the group are unaffected.
    @Test func nonFiniteActivationsGiveNaNForTheirTokenOnly() {
        let columns = 64
        var x = [Float](repeating: 0.5, count: 3 * columns)
        x[columns + 3] = .infinity
        let bytes = Quantization.quantize(.q8_0, [Float](repeating: 1, count: 2 * columns))
        var out = [Float](repeating: 0, count: 3 * 2)
        bytes.withUnsafeBytes { raw in
            let w = WeightMatrix(type: .q8_0, rows: 2, columns: columns, bytes: raw)
            Kernels.matmul(w, x, tokens: 3, into: &out, decodeTokens: 0, pool: ThreadPool(threadCount: 2))
        }
        #expect(out[2].isNaN && out[3].isNaN)
        #expect(abs(out[0] - 32) < 0.01 && abs(out[5] - 32) < 0.01)
    }
}
#endif
