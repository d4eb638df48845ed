#if arch(x86_64)
import CPhoenixX86
#endif
import Foundation
import PhoenixKernels
import PhoenixQuant
import PhoenixTestSupport
import Synchronization
import Testing

@Suite struct Int16DotTests {
    static let formats: [QuantType] = [.q8_0, .q5_0, .q4_K, .q6_K, .q4_0, .q5_K, .q4_1, .q5_1, .q3_K, .q2_K, .q8_K,
                                       .iq4_NL, .iq4_XS, .mxfp4]

    /// Rows of activations quantized into memory this object owns.
    final class Quantized {
        let memory: UnsafeMutableRawPointer
        let activations: Kernels.Int16Activations

        init(_ x: [Float], tokens: Int, columns: Int) {
            memory = .allocate(byteCount: Kernels.Int16Activations.byteCount(tokens: tokens, columns: columns), alignment: 64)
            activations = Kernels.Int16Activations(tokens: tokens, columns: columns, memory: memory)
            x.withUnsafeBufferPointer { activations.quantize($0.baseAddress!) }
        }

        deinit { memory.deallocate() }
    }

    /// The kernels give the scalar twin's bits for every row and token, at row counts that leave a row
    /// out of the one-token kernel's pairs and token counts that leave short groups of eight and four;
    /// rows of 3 blocks, and of 4 for 4 rows and 1 token (Q5_0's one-token kernel takes blocks in pairs).
    @Test(arguments: formats, [(1, 1), (3, 1), (4, 1), (3, 2), (5, 7), (2, 9), (3, 13)])
    func kernelsMatchTheReferenceBitForBit(type: QuantType, size: (rows: Int, tokens: Int)) throws {
        let columns = (size.rows == 4 ? 4 : 3) * type.traits.weightsPerBlock
        var rng = SplitMix64(seed: UInt64(type.rawValue) * 13 + UInt64(size.rows))
        let bytes = Quantization.quantize(type, rng.floats(size.rows * columns, in: -2...2))
        let x = rng.floats(size.tokens * columns, in: -4...4)
        let quantized = Quantized(x, tokens: size.tokens, columns: columns)
        var out = [Float](repeating: .nan, count: size.tokens * (size.rows + 1))
        try bytes.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rows: size.rows, columns: columns, bytes: raw)
            Kernels.int16Dots(w, rows: 0..<size.rows, quantized.activations, into: &out, outStride: size.rows + 1)
            for t in 0..<size.tokens {
                for r in 0..<size.rows {
                    let expected = try #require(Reference.int16Dot(type, w.base + r * w.rowBytes, quantized.activations, token: t))
                    #expect(out[t * (size.rows + 1) + r].bitPattern == expected.bitPattern, "row \(r) token \(t)")
                }
                #expect(out[t * (size.rows + 1) + size.rows].isNaN)  // the stride's spare column is left alone
            }
        }
    }

    /// Runs `body` with the 256-bit kernels, then, where the CPU has them, the 512-bit ones
    /// (`Kernels.useWideKernels`), one test at a time: each test that switches kernels holds this lock, so
    /// each sees its own setting. Other tests may see either; both give the same bits.
    static func withEachKernelWidth(_ body: (_ wide: Bool) throws -> Void) throws {
        try kernelWidthLock.withLock { _ in
            defer { Kernels.useWideKernels = Kernels.wideKernelsAvailable }
            for wide in Kernels.wideKernelsAvailable ? [false, true] : [false] {
                Kernels.useWideKernels = wide
                try body(wide)
            }
        }
    }

    static let kernelWidthLock = Mutex(())

    /// The one-token products of the formats with 512-bit kernels (Q8_0, Q5_0, Q4_K, Q6_K) give the
    /// reference's bits with those kernels (where the CPU has them) and with the 256-bit ones: at row
    /// counts that leave a row out of the pairs and a pair out of the pairs of pairs, block counts that
    /// leave a block out of the pairs of blocks, and rows taken from an odd row on.
    @Test(arguments: [QuantType.q8_0, .q5_0, .q4_K, .q6_K], [(1, 1), (2, 3), (5, 4), (7, 5), (8, 20)])
    func wideAndNarrowKernelsGiveTheReferenceBits(type: QuantType, size: (rows: Int, blocks: Int)) throws {
        let columns = type.traits.weightsPerBlock * size.blocks
        var rng = SplitMix64(seed: UInt64(size.rows * 100 + size.blocks) + UInt64(type.rawValue) << 16)
        let bytes = Quantization.quantize(type, rng.floats(size.rows * columns, in: -2...2))
        let quantized = Quantized(rng.floats(columns, in: -4...4), tokens: 1, columns: columns)
        try Self.withEachKernelWidth { wide in
            try bytes.withUnsafeBytes { raw in
                let w = WeightMatrix(type: type, rows: size.rows, columns: columns, bytes: raw)
                for rows in [0..<size.rows, 1..<size.rows] {
                    var out = [Float](repeating: .nan, count: size.rows + 1)
                    Kernels.int16Dots(w, rows: rows, quantized.activations, into: &out, outStride: size.rows + 1)
                    for r in 0..<size.rows + 1 {
                        guard rows.contains(r) else {
                            #expect(out[r].isNaN, "row \(r) is not asked for")
                            continue
                        }
                        let expected = try #require(Reference.int16Dot(type, w.base + r * w.rowBytes, quantized.activations, token: 0))
                        #expect(out[r].bitPattern == expected.bitPattern, "wide \(wide), rows \(rows), row \(r)")
                    }
                }
            }
        }
    }

    #if arch(x86_64) && os(Linux)
    /// The 512-bit kernels run exactly where the kernel's own view of the CPU lists every instruction
    /// set they are built for.
    @Test func wideKernelsAreAvailableWhereTheCPUHasAVX512() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
            .split(separator: " ").map(String.init))
        let needed = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"]
        #expect(Kernels.wideKernelsAvailable == needed.allSatisfy(flags.contains), "flags: \(needed.filter(flags.contains))")
    }
    #endif

    /// Against the float definition (the reference dequantizer's weights times the unquantized
    /// activations, in double precision), the error stays within what rounding the activations allows:
    /// Σ|w|·scale/2 over the row, plus float rounding.
    @Test(arguments: formats, [1, 4, 9])
    func resultIsWithinTheActivationRoundingBound(type: QuantType, blocks: Int) throws {
        let columns = blocks * type.traits.weightsPerBlock
        var rng = SplitMix64(seed: UInt64(blocks) * 31 + UInt64(type.rawValue))
        let bytes = Quantization.quantize(type, rng.floats(columns, in: -2...2))
        let weights = Quantization.dequantize(type, bytes)
        var x = rng.floats(columns, in: -3...3)
        x[5] = 40  // an outlier: its block's scale grows, the others' do not
        let quantized = Quantized(x, tokens: 1, columns: columns)
        var out: [Float] = [0]
        bytes.withUnsafeBytes { raw in
            Kernels.int16Dots(WeightMatrix(type: type, rows: 1, columns: columns, bytes: raw), rows: 0..<1, quantized.activations,
                              into: &out, outStride: 1)
        }
        var exact = 0.0, bound = 0.0, magnitude = 0.0
        for c in 0..<columns {
            exact += Double(weights[c]) * Double(x[c])
            bound += Double(abs(weights[c])) * Double(quantized.activations.scales[c / 32]) / 2
            magnitude += abs(Double(weights[c]) * Double(x[c]))
        }
        #expect(abs(Double(out[0]) - exact) <= bound + 1e-6 * magnitude, "\(out[0]) vs \(exact), bound \(bound)")
        #expect(bound < 1e-3 * magnitude)  // 16 bits: the bound itself is small
    }

    /// Quantizing recovers each value within half a step, maps the block's largest magnitude to ±32767,
    /// and keeps the sum of the codes.
    @Test func quantizationRoundsToTheNearestStep() {
        var rng = SplitMix64(seed: 4)
        var x = rng.floats(64, in: -1...1)
        x[40] = -2.5
        let quantized = Quantized(x, tokens: 1, columns: 64)
        for block in 0..<2 {
            let scale = quantized.activations.scales[block]
            var sum: Int32 = 0
            for i in 32 * block..<32 * block + 32 {
                let q = quantized.activations.values[i]
                sum += Int32(q)
                #expect(abs(Float(q) * scale - x[i]) <= scale / 2 * 1.0001, "value \(i)")
            }
            #expect(sum == quantized.activations.sums[block])
        }
        #expect(quantized.activations.values[40] == -32767)
    }

    /// The second layout holds each block's values at even positions, then those at odd positions; the
    /// half sums are those of each block's first and last 16 values.
    @Test func evenOddLayoutHoldsTheSameValues() {
        var rng = SplitMix64(seed: 5)
        let quantized = Quantized(rng.floats(2 * 96, in: -3...3), tokens: 2, columns: 96)
        let a = quantized.activations
        for block in 0..<6 {
            for i in 0..<16 {
                #expect(a.evenOdd[32 * block + i] == a.values[32 * block + 2 * i], "block \(block), value \(2 * i)")
                #expect(a.evenOdd[32 * block + 16 + i] == a.values[32 * block + 2 * i + 1], "block \(block), value \(2 * i + 1)")
            }
            let low = (0..<16).reduce(Int32(0)) { $0 + Int32(a.values[32 * block + $1]) }
            let high = (16..<32).reduce(Int32(0)) { $0 + Int32(a.values[32 * block + $1]) }
            #expect(a.lowHalfSums[block] == low && a.highHalfSums[block] == high, "block \(block)")
        }
    }

    #if arch(x86_64)
    /// The table the Q8_0 and Q5_0 kernels read their scales from gives Swift's own conversion for
    /// every bit pattern (NaNs as NaNs).
    @Test func halfTableMatchesTheConversion() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits)), table = phoenix_half(bits)
            if !(table.bitPattern == expected.bitPattern || (table.isNaN && expected.isNaN)) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
    #endif

    /// The vector quantizer gives its scalar definition's codes, scale and sum bit for bit, on random
    /// blocks of every magnitude and on the blocks it hands to the definition (zeros, subnormals, an
    /// infinity, a NaN).
    @Test func vectorQuantizerMatchesItsDefinition() {
        var rng = SplitMix64(seed: 12)
        var blocks = (0..<200).map { i in rng.floats(32, in: -1...1).map { $0 * Float(i % 7 == 0 ? 1e-30 : 1e5) / Float(i + 1) } }
        blocks.append([Float](repeating: 0, count: 32))
        blocks.append([Float](repeating: 1e-40, count: 32))
        blocks.append((0..<32).map { $0 == 9 ? .infinity : Float($0) })
        blocks.append((0..<32).map { $0 == 31 ? .nan : -Float($0) })
        // max|x| = 32767 makes the step exactly 1, so these land halfway between two codes: ties go to even
        blocks.append((0..<32).map { $0 == 0 ? 32767 : (Float($0) + 0.5) * ($0 % 2 == 0 ? 1 : -1) })
        var fast = [Int16](repeating: 0, count: 32), slow = fast
        for (i, block) in blocks.enumerated() {
            let a = Kernels.quantizeInt16Block(block, into: &fast), b = Reference.quantizeInt16Block(block, into: &slow)
            #expect(a.scale.bitPattern == b.scale.bitPattern && a.sum == b.sum && fast == slow, "block \(i)")
        }
    }

    /// Zeros give scale 0 and codes 0; an infinity or NaN makes its block's scale NaN, so the products
    /// come out NaN rather than as garbage integers or a trap.
    @Test func zeroAndNonFiniteBlocks() {
        var x = [Float](repeating: 0, count: 96)
        x[40] = .infinity
        x[70] = .nan
        let quantized = Quantized(x, tokens: 1, columns: 96)
        #expect(quantized.activations.scales[0] == 0 && quantized.activations.sums[0] == 0)
        #expect(quantized.activations.scales[1].isNaN && quantized.activations.scales[2].isNaN)
        #expect((0..<96).allSatisfy { quantized.activations.values[$0] == 0 })
        let bytes = Quantization.quantize(.q8_0, [Float](repeating: 1, count: 96))
        var out: [Float] = [0]
        bytes.withUnsafeBytes { raw in
            Kernels.int16Dots(WeightMatrix(type: .q8_0, rows: 1, columns: 96, bytes: raw), rows: 0..<1, quantized.activations,
                              into: &out, outStride: 1)
        }
        #expect(out[0].isNaN)
    }

    @Test func formatsWithoutA16BitFormSayNil() {
        let bytes = [UInt8](repeating: 0, count: 128)
        let quantized = Quantized([Float](repeating: 1, count: 32), tokens: 1, columns: 32)
        #expect(!Kernels.hasInt16Dot(.f32))
        #expect(bytes.withUnsafeBytes { Reference.int16Dot(.f32, $0.baseAddress!, quantized.activations, token: 0) } == nil)
    }
}
