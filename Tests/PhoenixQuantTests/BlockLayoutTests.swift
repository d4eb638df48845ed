import PhoenixQuant
import Testing

/// Every block struct is its format's bytes exactly: no padding, size and stride as GGUF's type size.
@Suite struct BlockLayoutTests {
    @Test(arguments: QuantType.allCases)
    func blockTypeMatchesTraits(type: QuantType) {
        let block = type.blockType
        #expect(block.quantType == type)
        #expect(size(of: block) == type.traits.bytesPerBlock)
        #expect(stride(of: block) == type.traits.bytesPerBlock)
    }

    @Test func concreteSizesMatchGGML() {
        // ggml-common.h static_asserts, written out so a layout change shows up by name.
        #expect(MemoryLayout<BlockF32>.size == 4)
        #expect(MemoryLayout<BlockF16>.size == 2)
        #expect(MemoryLayout<BlockBF16>.size == 2)
        #expect(MemoryLayout<BlockQ4_0>.size == 18)
        #expect(MemoryLayout<BlockQ4_1>.size == 20)
        #expect(MemoryLayout<BlockQ5_0>.size == 22)
        #expect(MemoryLayout<BlockQ5_1>.size == 24)
        #expect(MemoryLayout<BlockQ8_0>.size == 34)
        #expect(MemoryLayout<BlockQ2_K>.size == 84)
        #expect(MemoryLayout<BlockQ3_K>.size == 110)
        #expect(MemoryLayout<BlockQ4_K>.size == 144)
        #expect(MemoryLayout<BlockQ5_K>.size == 176)
        #expect(MemoryLayout<BlockQ6_K>.size == 210)
        #expect(MemoryLayout<BlockQ8_K>.size == 292)
        #expect(MemoryLayout<BlockIQ4_NL>.size == 18)
        #expect(MemoryLayout<BlockIQ4_XS>.size == 136)
        #expect(MemoryLayout<BlockMXFP4>.size == 17)
    }

    @Test func fieldOffsetsMatchGGML() {
        // The fields that do not start a block, at ggml's byte offsets.
        #expect(MemoryLayout<BlockQ4_1>.offset(of: \.qs) == 4)
        #expect(MemoryLayout<BlockQ5_0>.offset(of: \.qs) == 6)
        #expect(MemoryLayout<BlockQ5_1>.offset(of: \.qh) == 4)
        #expect(MemoryLayout<BlockQ2_K>.offset(of: \.d) == 80)
        #expect(MemoryLayout<BlockQ2_K>.offset(of: \.dmin) == 82)
        #expect(MemoryLayout<BlockQ3_K>.offset(of: \.scales) == 96)
        #expect(MemoryLayout<BlockQ3_K>.offset(of: \.d) == 108)
        #expect(MemoryLayout<BlockQ4_K>.offset(of: \.qs) == 16)
        #expect(MemoryLayout<BlockQ5_K>.offset(of: \.qh) == 16)
        #expect(MemoryLayout<BlockQ5_K>.offset(of: \.qs) == 48)
        #expect(MemoryLayout<BlockQ6_K>.offset(of: \.scales) == 192)
        #expect(MemoryLayout<BlockQ6_K>.offset(of: \.d) == 208)
        #expect(MemoryLayout<BlockQ8_K>.offset(of: \.bsums) == 260)
        #expect(MemoryLayout<BlockIQ4_XS>.offset(of: \.scalesL) == 4)
        #expect(MemoryLayout<BlockIQ4_XS>.offset(of: \.qs) == 8)
        #expect(MemoryLayout<BlockMXFP4>.offset(of: \.qs) == 1)
    }

    /// The kernels' word-at-a-time unpacking of Q4_K's 6-bit scales and mins gives, for every unit, what
    /// ggml's `get_scale_min_k4` reads from the 12 packed bytes, for every value of each byte.
    @Test func packedScalesAndMinsMatchGGML() {
        for seed in 0..<256 {
            var block = [UInt8](repeating: 0, count: 144)
            for i in 4..<16 { block[i] = UInt8(truncatingIfNeeded: seed &* 37 &+ i &* 101 &+ (seed >> 3) &* i) }
            block[4 + seed % 12] = UInt8(seed)  // every value in every byte position over the seeds
            let q = Array(block[4..<16])
            let (scales, mins) = block.withUnsafeBytes { BlockQ4_K.packedScalesAndMins($0.baseAddress!) }
            for j in 0..<8 {
                let scale = j < 4 ? q[j] & 63 : (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4)
                let min = j < 4 ? q[j + 4] & 63 : (q[j + 4] >> 4) | ((q[j] >> 6) << 4)
                #expect(UInt8(truncatingIfNeeded: scales >> (8 * j)) == scale, "seed \(seed) unit \(j) scale")
                #expect(UInt8(truncatingIfNeeded: mins >> (8 * j)) == min, "seed \(seed) unit \(j) min")
            }
        }
    }

    private func size<Block: QuantBlock>(of _: Block.Type) -> Int { MemoryLayout<Block>.size }
    private func stride<Block: QuantBlock>(of _: Block.Type) -> Int { MemoryLayout<Block>.stride }
}
