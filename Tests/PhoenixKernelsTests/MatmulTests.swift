import PhoenixKernels
import PhoenixQuant
import PhoenixTestSupport
import Testing

@Suite struct MatmulTests {
    /// A random matrix in `type`, made by quantizing random floats with the reference quantizer.
    static func matrix(_ type: QuantType, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return Quantization.quantize(type, rng.floats(rows * columns))
    }

    /// The GEMM, for every weight format (Q8_K is an activation format only), at odd row and token
    /// counts (tile edges: 4 rows, 3 tokens, panels of 16, blocks of 12). The formats with a 16-bit
    /// prompt kernel (`int16Gemm`, tested bit for bit against its twin in `Int16GemmTests`) may also
    /// differ by what rounding the activations to 16 bits allows: Σ|w| · max|x| / 65534 per block.
    @Test(arguments: QuantType.allCases.filter { $0 != .q8_K }, [(1, 1), (5, 2), (17, 4), (33, 13)])
    func fastMatchesReference(type: QuantType, size: (rows: Int, tokens: Int)) throws {
        let columns = type.traits.weightsPerBlock == 1 ? 37 : 2 * type.traits.weightsPerBlock
        let bytes = Self.matrix(type, rows: size.rows, columns: columns, seed: UInt64(type.rawValue) * 100 + UInt64(size.rows))
        var rng = SplitMix64(seed: 5)
        let x = rng.floats(size.tokens * columns)
        var fast = [Float](repeating: .nan, count: size.tokens * size.rows), slow = fast
        let pool = ThreadPool(threadCount: 2)
        bytes.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rows: size.rows, columns: columns, bytes: raw)
            Kernels.matmul(w, x, tokens: size.tokens, into: &fast, decodeTokens: 0, pool: pool)
            Reference.matmul(w, x, tokens: size.tokens, into: &slow)
        }
        let weights = Quantization.dequantize(type, bytes)
        for i in 0..<fast.count {
            let (t, r) = i.quotientAndRemainder(dividingBy: size.rows)
            var rounding: Float = 0
            if Kernels.hasInt16Gemm(type) {
                for c in 0..<columns {
                    let block = x[(t * columns + c / 32 * 32)..<(t * columns + c / 32 * 32 + 32)]
                    rounding += abs(weights[r * columns + c]) * block.map(abs).max()! / 65534
                }
            }
            #expect(abs(fast[i] - slow[i]) <= 1e-4 * max(1, abs(slow[i])) + rounding, "\(type) element \(i): \(fast[i]) vs \(slow[i])")
        }
    }

    /// The fast row dequantizers give exactly the reference dequantizer's float bits.
    @Test(arguments: QuantType.allCases)
    func fastDequantizationIsBitExact(type: QuantType) {
        let count = 3 * max(type.traits.weightsPerBlock, 11)
        var rng = SplitMix64(seed: UInt64(type.rawValue))
        let bytes = Quantization.quantize(type, rng.floats(count, in: -3...3))
        let expected = Quantization.dequantize(type, bytes)
        var fast = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { Kernels.dequantizeRow(type, $0.baseAddress!, into: &fast, count: count) }
        #expect(fast.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    /// A token's outputs are the same bits whether it is multiplied alone or at any place in a larger
    /// call, with 1 or 2 threads, as a decode token (the leading 5 of 14 here, on the 16-bit kernels) or a
    /// prompt token (the GEMM). This is what makes a batched server's results independent of the batch.
    @Test(arguments: [QuantType.q8_0, .q5_0, .q4_K, .q6_K, .f32], [1, 2])
    func resultsDoNotDependOnTheOtherTokens(type: QuantType, threads: Int) {
        let rows = 37, columns = type == .f32 ? 45 : 2 * type.traits.weightsPerBlock, tokens = 14, decoding = 5
        let bytes = type == .f32
            ? { var rng = SplitMix64(seed: 8); return rng.floats(rows * columns).withUnsafeBytes { Array($0) } }()
            : Self.matrix(type, rows: rows, columns: columns, seed: 77)
        var rng = SplitMix64(seed: 6)
        let x = rng.floats(tokens * columns)
        let pool = ThreadPool(threadCount: threads)
        bytes.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rows: rows, columns: columns, bytes: raw)
            var together = [Float](repeating: .nan, count: tokens * rows)
            Kernels.matmul(w, x, tokens: tokens, into: &together, decodeTokens: decoding, pool: pool)
            for t in 0..<tokens {
                var alone = [Float](repeating: .nan, count: rows)
                x.withUnsafeBufferPointer {
                    Kernels.matmul(w, $0.baseAddress! + t * columns, tokens: 1, into: &alone,
                                   decodeTokens: t < decoding ? 1 : 0, pool: pool)
                }
                #expect(alone.map(\.bitPattern) == together[(t * rows)..<((t + 1) * rows)].map(\.bitPattern), "token \(t)")
            }
        }
    }

    /// Matrices that share their input, multiplied in one call, give each output the bits of its own call,
    /// whether the threads' shares split a matrix or span two, and when one of them (Q4_0) has no 16-bit
    /// kernels while the others do.
    @Test(arguments: [1, 2], [(0, QuantType.q8_0), (1, .q8_0), (3, .q8_0), (0, .q4_0), (1, .q4_0), (3, .q4_0)])
    func sharedInputEqualsSeparateCalls(threads: Int, setting: (decoding: Int, middle: QuantType)) {
        let (decoding, middle) = setting
        let columns = 64, tokens = 5
        let shapes: [(QuantType, Int)] = [(.q5_0, 37), (middle, 9), (.q5_0, 20)]
        let matrices = shapes.enumerated().map { Self.matrix($1.0, rows: $1.1, columns: columns, seed: 40 + UInt64($0)) }
        var rng = SplitMix64(seed: 9)
        let x = rng.floats(tokens * columns)
        let pool = ThreadPool(threadCount: threads)
        let together = shapes.map { UnsafeMutablePointer<Float>.allocate(capacity: tokens * $0.1) }
        defer { together.forEach { $0.deallocate() } }
        var separate = shapes.map { [Float](repeating: .nan, count: tokens * $0.1) }
        matrices[0].withUnsafeBytes { b0 in matrices[1].withUnsafeBytes { b1 in matrices[2].withUnsafeBytes { b2 in
            let ws = zip(shapes, [b0, b1, b2]).map { WeightMatrix(type: $0.0, rows: $0.1, columns: columns, bytes: $1) }
            Kernels.matmul(ws, x, tokens: tokens, into: together, decodeTokens: decoding, pool: pool)
            for i in 0..<3 { Kernels.matmul(ws[i], x, tokens: tokens, into: &separate[i], decodeTokens: decoding, pool: pool) }
        } } }
        for i in 0..<3 {
            let outputs = UnsafeBufferPointer(start: together[i], count: tokens * shapes[i].1)
            #expect(outputs.map(\.bitPattern) == separate[i].map(\.bitPattern), "matrix \(i)")
        }
    }

    @Test func outputStrideLeavesOtherColumnsAlone() {
        let (rows, columns, tokens) = (5, 8, 2)
        var rng = SplitMix64(seed: 3)
        let weights = rng.floats(rows * columns), x = rng.floats(tokens * columns)
        var out = [Float](repeating: -7, count: tokens * 9)
        weights.withUnsafeBytes { raw in
            let w = WeightMatrix(type: .f32, rows: rows, columns: columns, bytes: raw)
            Kernels.matmul(w, x, tokens: tokens, into: &out, outStride: 9, pool: ThreadPool(threadCount: 2))
        }
        for t in 0..<tokens { for r in rows..<9 { #expect(out[t * 9 + r] == -7) } }
    }
}
