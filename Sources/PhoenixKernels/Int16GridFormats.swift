import PhoenixQuant
#if arch(x86_64)
import CPhoenixX86

// IQ4_NL, IQ4_XS and MXFP4 for the 16-bit kernels (`Int16Dot.swift`): their 4-bit codes pick signed
// bytes from a grid of 16 values with one table lookup, then widen as Q4_0's codes do.
extension Kernels {
    /// IQ4's grid values (`BlockIQ4_NL.grid`) for 32 indices 0...15, as signed bytes: one table
    /// lookup per byte. The table holds the 16 values in each 128-bit half, little-endian: −127, −104,
    /// −83, −65, −49, −35, −22, −10 (0x81, 0x98, ...), then 1, 13, 25, 38, 53, 69, 89, 113.
    @inline(__always)
    static func gridBytes(_ indices: __m256i) -> __m256i {
        let values = _mm256_setr_epi64x(Int64(bitPattern: 0xF6EA_DDCF_BFAD_9881), 0x7159_4535_2619_0D01,
                                        Int64(bitPattern: 0xF6EA_DDCF_BFAD_9881), 0x7159_4535_2619_0D01)
        return _mm256_shuffle_epi8(values, indices)
    }

    /// MXFP4's grid values (`BlockMXFP4.grid`, E2M1 times two) for 32 codes 0...15: 0, 1, 2, 3, 4, 6, 8,
    /// 12, then the same negated (0x00, 0xFF, 0xFE, ...).
    @inline(__always)
    static func mxfp4Bytes(_ codes: __m256i) -> __m256i {
        let values = _mm256_setr_epi64x(0x0C08_0604_0302_0100, Int64(bitPattern: 0xF4F8_FAFC_FDFE_FF00),
                                        0x0C08_0604_0302_0100, Int64(bitPattern: 0xF4F8_FAFC_FDFE_FF00))
        return _mm256_shuffle_epi8(values, codes)
    }
}

/// IQ4_NL: 18-byte blocks of 32: fp16 d, then 16 bytes of 4-bit indices laid out as Q4_0's nibbles;
/// w = d · grid[q], the grid being 16 signed bytes (`BlockIQ4_NL.grid`). Q4_0 with a table lookup in
/// place of the − 8.
enum Int16IQ4_NL: Int16ScaledFormat {
    static var blockBytes: Int { 18 }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        Int16Unit(signedBytes: Kernels.gridBytes(Kernels.nibbleBytes(block + 2)))
    }
}

/// IQ4_XS: 136-byte super-blocks of 256: fp16 d, then the 8 units' 6-bit scales ls + 32 (their top two
/// bits in the 16 bits at byte 2, bits 2g..<2g+2 for unit g; their low four in the nibbles of bytes
/// 4..<8, unit g's at bit 4g of the 32 bits), then each unit's 16 bytes of indices laid out as IQ4_NL's;
/// w = d·ls·grid[q].
enum Int16IQ4_XS: Int16EightScalesFormat {
    static var blockBytes: Int { 136 }

    /// d·ls of the eight units, unpacked in the eight 32-bit lanes at once.
    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> SIMD8<Float> {
        let low = _mm256_srlv_epi32(_mm256_set1_epi32(block.loadUnaligned(fromByteOffset: 4, as: Int32.self)),
                                    _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28))
        let high = _mm256_srlv_epi32(_mm256_set1_epi32(Int32(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))),
                                     _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14))
        let scales = _mm256_or_si256(_mm256_and_si256(low, _mm256_set1_epi32(0x0F)),
                                     _mm256_slli_epi32(_mm256_and_si256(high, _mm256_set1_epi32(3)), 4))
        return Kernels.half(block, 0) * _mm256_cvtepi32_ps(_mm256_sub_epi32(scales, _mm256_set1_epi32(32)))
    }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        Int16Unit(signedBytes: Kernels.gridBytes(Kernels.nibbleBytes(block + 8 + 16 * k)))
    }
}

/// MXFP4: 17-byte blocks of 32: an E8M0 exponent e, then 16 bytes of 4-bit E2M1 codes laid out as
/// Q4_0's nibbles; w = grid[q] · 2^(e − 128), the grid being the E2M1 values doubled to integers.
enum Int16MXFP4: Int16ScaledFormat {
    static var blockBytes: Int { 17 }

    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Float { BlockMXFP4.halfScale(block.load(as: UInt8.self)) }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        Int16Unit(signedBytes: Kernels.mxfp4Bytes(Kernels.nibbleBytes(block + 1)))
    }
}
#endif
