import PhoenixKernels
import PhoenixQuant
import PhoenixTestSupport
import Testing

#if arch(x86_64)
/// Q5_0 matrices in the row-pair layout give, through every path, the bits that the scalar references
/// give on the same matrix in GGUF's layout.
@Suite struct Q5_0RowPairsTests {
    /// A Q5_0 matrix in GGUF's layout and the same matrix in the row-pair layout, owned together.
    final class Pair {
        let gguf: [UInt8]
        let packed: UnsafeMutableRawBufferPointer
        let rows: Int, columns: Int

        init(rows: Int, columns: Int, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            var values = rng.floats(rows * columns, in: -2...2)
            values[0] = 7  // an outlier: its code is at the end of the range, the rest of its block near the middle
            gguf = Quantization.quantize(.q5_0, values)
            packed = .allocate(byteCount: gguf.count, alignment: 64)
            self.rows = rows
            self.columns = columns
            gguf.withUnsafeBytes { Kernels.Q5_0RowPairs.repack($0.baseAddress!, rows: rows, rowBytes: gguf.count / rows, into: packed.baseAddress!) }
        }

        deinit { packed.deallocate() }

        var matrix: WeightMatrix {
            WeightMatrix(type: .q5_0, rows: rows, columns: columns, bytes: UnsafeRawBufferPointer(packed), layout: .q5_0RowPairs)
        }

        func withGGUF<R>(_ body: (WeightMatrix) throws -> R) rethrows -> R {
            try gguf.withUnsafeBytes { try body(WeightMatrix(type: .q5_0, rows: rows, columns: columns, bytes: $0)) }
        }
    }

    /// Decode products for every row and token, with the 512-bit kernel and the 256-bit path: at row
    /// counts that leave an odd last row (in GGUF's layout) and a pair out of the pairs of pairs, block
    /// counts that leave a block out, token counts that take the several-token path (one group of rows,
    /// and with 70 rows more than one), and rows from an odd row on or to the middle of a pair, as a
    /// thread's share of grouped matrices can be.
    @Test(arguments: [(1, 1, 1), (2, 3, 1), (5, 4, 2), (7, 5, 1), (8, 20, 3), (9, 2, 5), (70, 3, 2)])
    func decodeGivesTheReferenceBits(size: (rows: Int, blocks: Int, tokens: Int)) throws {
        let columns = 32 * size.blocks
        let pair = Pair(rows: size.rows, columns: columns, seed: UInt64(size.rows * 100 + size.blocks))
        var rng = SplitMix64(seed: 3)
        let quantized = Int16DotTests.Quantized(rng.floats(size.tokens * columns, in: -4...4), tokens: size.tokens, columns: columns)
        let stride = size.rows + 1
        let ranges = Set([0..<size.rows, min(1, size.rows)..<size.rows, 0..<(size.rows + 1) / 2, min(1, size.rows)..<(size.rows + 1) / 2])
        try Int16DotTests.withEachKernelWidth { wide in
            for rows in ranges {
                var out = [Float](repeating: .nan, count: size.tokens * stride)
                Kernels.int16Dots(pair.matrix, rows: rows, quantized.activations, into: &out, outStride: stride)
                try pair.withGGUF { w in
                    for t in 0..<size.tokens {
                        for r in 0..<stride {
                            guard rows.contains(r) else {
                                #expect(out[t * stride + r].isNaN, "row \(r) is not asked for")
                                continue
                            }
                            let expected = try #require(Reference.int16Dot(.q5_0, w.base + r * w.rowBytes, quantized.activations, token: t))
                            #expect(out[t * stride + r].bitPattern == expected.bitPattern, "wide \(wide), rows \(rows), row \(r), token \(t)")
                        }
                    }
                }
            }
        }
    }

    /// The prompt GEMM, with one thread and two and both tile widths: at row counts that leave short
    /// panels and an odd last row, and a short group of tokens.
    @Test(arguments: [(1, 1, 2), (3, 17, 2), (25, 3, 1), (50, 33, 2)])
    func gemmGivesTheReferenceBits(size: (rows: Int, tokens: Int, threads: Int)) throws {
        let columns = 96
        let pair = Pair(rows: size.rows, columns: columns, seed: UInt64(size.rows * 7 + size.tokens))
        var rng = SplitMix64(seed: 9)
        let x = rng.floats(size.tokens * columns, in: -4...4)
        let reference = Int16DotTests.Quantized(x, tokens: size.tokens, columns: columns)
        let stride = size.rows + 1, pool = ThreadPool(threadCount: size.threads)
        try Int16DotTests.withEachKernelWidth { wide in
            var out = [Float](repeating: .nan, count: size.tokens * stride)
            let memory = UnsafeMutableRawPointer.allocate(
                byteCount: Kernels.Int16TokenGroups.byteCount(tokens: size.tokens, columns: columns), alignment: 64)
            defer { memory.deallocate() }
            let groups = Kernels.Int16TokenGroups(tokens: size.tokens, columns: columns, memory: memory)
            x.withUnsafeBufferPointer { groups.quantize($0.baseAddress!, pool: pool) }
            Kernels.int16Gemm(pair.matrix, groups, into: &out, stride: stride, pool: pool)
            try pair.withGGUF { w in
                for t in 0..<size.tokens {
                    for r in 0..<size.rows {
                        let expected = try #require(Reference.int16GemmDot(.q5_0, w.base + r * w.rowBytes, reference.activations, token: t))
                        #expect(out[t * stride + r].bitPattern == expected.bitPattern, "wide \(wide), row \(r), token \(t)")
                    }
                    #expect(out[t * stride + size.rows].isNaN)
                }
            }
        }
    }

    /// A row read back as floats is the GGUF row's, odd last row included: the layout keeps every code
    /// and scale.
    @Test(arguments: [1, 2, 5])
    func rowsDequantizeAsInGGUF(rows: Int) {
        let pair = Pair(rows: rows, columns: 64, seed: UInt64(rows))
        var packed = [Float](repeating: 0, count: 64), gguf = packed
        for r in 0..<rows {
            pair.matrix.dequantizeRow(r, into: &packed)
            pair.withGGUF { $0.dequantizeRow(r, into: &gguf) }
            #expect(packed.map(\.bitPattern) == gguf.map(\.bitPattern), "row \(r)")
        }
    }

    /// The layout of one pair's block, written out from the definition: scales, the masks of clear
    /// fifth bits for even and for odd positions, and a byte per neighbouring pair of codes.
    @Test func blockLayoutFollowsItsDefinition() {
        let pair = Pair(rows: 2, columns: 32, seed: 11)
        let codes = (0..<2).map { Quantization.dequantize(.q5_0, Array(pair.gguf[22 * $0..<22 * $0 + 22])) }
        let packed = Array(UnsafeRawBufferPointer(pair.packed))
        for row in 0..<2 {
            let d = Float(Float16(bitPattern: UInt16(pair.gguf[22 * row]) | UInt16(pair.gguf[22 * row + 1]) << 8))
            #expect(packed[2 * row] == pair.gguf[22 * row] && packed[2 * row + 1] == pair.gguf[22 * row + 1])
            // Each weight is d · (code − 16): its code back from the dequantized value.
            let code = codes[row].map { d == 0 ? 16 : Int(($0 / d).rounded()) + 16 }
            for m in 0..<16 {
                func maskBit(_ offset: Int) -> Int {
                    let mask = (0..<4).reduce(UInt32(0)) { $0 | UInt32(packed[offset + $1]) << (8 * $1) }
                    return Int(mask >> (16 * row + m) & 1)
                }
                #expect(maskBit(4) == (code[2 * m] < 16 ? 1 : 0), "row \(row), code \(2 * m)")
                #expect(maskBit(8) == (code[2 * m + 1] < 16 ? 1 : 0), "row \(row), code \(2 * m + 1)")
                #expect(Int(packed[12 + 16 * row + m]) == code[2 * m] % 16 | (code[2 * m + 1] % 16) << 4, "row \(row), byte \(m)")
            }
        }
    }
}
#endif
