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

    private func size<Block: QuantBlock>(of _: Block.Type) -> Int { MemoryLayout<Block>.size }
    private func stride<Block: QuantBlock>(of _: Block.Type) -> Int { MemoryLayout<Block>.stride }
}
