import PhoenixQuant
import PhoenixTestSupport
import Testing

/// fp16 and bf16 conversions of NaN, infinities, subnormals and signed zeros, against values printed by
/// numpy 2.4.6 (`astype(np.float16)`, `astype(np.float32)`) and gguf-py 0.19.0 (`BF16.quantize_blocks`).
@Suite struct HalfFloatTests {
    /// (float32 bits, numpy fp16 bits, gguf-py bf16 bits).
    static let fromFloat: [(UInt32, UInt16, UInt16)] = [
        (0x7FC0_0000, 0x7E00, 0x7FC0),  // quiet NaN
        (0xFFC0_0001, 0xFE00, 0xFFC0),  // negative NaN, payload below fp16's reach
        (0x7F80_0001, 0x7C01, 0x7FC0),  // signalling NaN: fp16 payload lost, kept non-zero; bf16 quieted
        (0x7FBF_FFFF, 0x7DFF, 0x7FFF),  // signalling NaN, top payload bits kept
        (0x7FA0_0000, 0x7D00, 0x7FE0),
        (0x7F80_0000, 0x7C00, 0x7F80),  // +inf
        (0xFF80_0000, 0xFC00, 0xFF80),  // -inf
        (0x0000_0000, 0x0000, 0x0000),  // +0
        (0x8000_0000, 0x8000, 0x8000),  // -0
        (0x0000_0001, 0x0000, 0x0000),  // smallest float32 subnormal
        (0x807F_FFFF, 0x8000, 0x8080),  // largest negative float32 subnormal: bf16 rounds up to -2^-126
        (0x3300_0000, 0x0000, 0x3300),  // 2^-25: tie between 0 and the smallest fp16 subnormal, to even
        (0x3300_0001, 0x0001, 0x3300),  // just above the tie
        (0x3340_0000, 0x0001, 0x3340),  // 0.75 * 2^-24
        (0x33C0_0000, 0x0002, 0x33C0),  // 1.5 * 2^-24: tie, to even
        (0x387F_C000, 0x03FF, 0x3880),  // largest fp16 subnormal
        (0x387F_F000, 0x0400, 0x3880),  // rounds up into the smallest fp16 normal
        (0x3880_0000, 0x0400, 0x3880),  // 2^-14
        (0x477F_EFFF, 0x7BFF, 0x4780),  // just below 65520: fp16 max
        (0x477F_F000, 0x7C00, 0x4780),  // 65520: fp16 overflows to inf
        (0xC77F_F000, 0xFC00, 0xC780),
        (0x3F80_1000, 0x3C00, 0x3F80),  // 1 + 2^-11: tie, to even (down)
        (0x3F80_3000, 0x3C02, 0x3F80),  // 1 + 3 * 2^-11: tie, to even (up)
        (0x3F80_8000, 0x3C04, 0x3F80),  // bf16 tie, to even (down)
        (0x3F81_8000, 0x3C0C, 0x3F82),  // bf16 tie, to even (up)
        (0xBF80_8000, 0xBC04, 0xBF80),
        (0x7F7F_FFFF, 0x7C00, 0x7F80),  // float32 max: inf in both
    ]

    /// (fp16 bits, numpy float32 bits).
    static let fromHalf: [(UInt16, UInt32)] = [
        (0x7C01, 0x7F80_2000),  // signalling NaN stays signalling
        (0xFD01, 0xFFA0_2000),
        (0x7E00, 0x7FC0_0000),
        (0x7C00, 0x7F80_0000),
        (0xFC00, 0xFF80_0000),
        (0x0001, 0x3380_0000),  // 2^-24
        (0x8001, 0xB380_0000),
        (0x03FF, 0x387F_C000),
        (0x8000, 0x8000_0000),
        (0x0400, 0x3880_0000),
        (0x7BFF, 0x477F_E000),  // 65504
    ]

    @Test(arguments: fromFloat.indices)
    func floatToHalvesMatchNumpy(row: Int) {
        let (bits, fp16, bf16) = Self.fromFloat[row]
        #expect(HalfFloat.fp16Bits(Float(bitPattern: bits)) == fp16)
        #expect(HalfFloat.bf16Bits(Float(bitPattern: bits)) == bf16)
    }

    @Test(arguments: fromHalf.indices)
    func halfToFloatMatchesNumpy(row: Int) {
        let (fp16, bits) = Self.fromHalf[row]
        #expect(HalfFloat.float(fp16Bits: fp16).bitPattern == bits)
    }

    @Test func everyFP16PatternRoundTrips() {
        // Exact widening then narrowing returns every pattern, NaN payloads included.
        let failures = (UInt16.min...UInt16.max).filter { bits in
            let wide = HalfFloat.float(fp16Bits: bits)
            let swiftWide = Float(Float16(bitPattern: bits))  // independent exact widening, NaN aside
            return HalfFloat.fp16Bits(wide) != bits || (!wide.isNaN && wide.bitPattern != swiftWide.bitPattern)
        }
        #expect(failures.isEmpty, "first failing fp16 pattern: \(failures.first.map { String($0, radix: 16) } ?? "")")
    }

    @Test func everyBF16PatternRoundTrips() {
        // Widening is exact; narrowing returns every non-NaN pattern and the quieted form of NaNs.
        let failures = (UInt16.min...UInt16.max).filter { bits in
            let wide = HalfFloat.float(bf16Bits: bits)
            return wide.bitPattern != UInt32(bits) << 16 || HalfFloat.bf16Bits(wide) != (wide.isNaN ? bits | 0x0040 : bits)
        }
        #expect(failures.isEmpty, "first failing bf16 pattern: \(failures.first.map { String($0, radix: 16) } ?? "")")
    }

    @Test func fp16RoundingMatchesSwiftFloat16() {
        // Swift's Float16(Float) also rounds to nearest even: an independent check on random bit patterns.
        var rng = SplitMix64(seed: 16)
        let values = (0..<100_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        let failures = values.filter { !$0.isNaN && HalfFloat.fp16Bits($0) != Float16($0).bitPattern }
        #expect(failures.isEmpty, "first failing float32 pattern: \(failures.first.map { String($0.bitPattern, radix: 16) } ?? "")")
    }

    @Test func bf16RoundsToNearestEven() {
        // The kept half is the nearer of the two bf16 neighbours; on a tie, the even one.
        var rng = SplitMix64(seed: 17)
        let patterns = (0..<100_000).map { _ in UInt32(truncatingIfNeeded: rng.next()) & 0x7F7F_FFFF }  // finite
        let failures = patterns.filter { bits in
            let (down, rest) = (UInt16(bits >> 16), bits & 0xFFFF)
            let expected = rest > 0x8000 || (rest == 0x8000 && down & 1 == 1) ? down + 1 : down
            return HalfFloat.bf16Bits(Float(bitPattern: bits)) != expected
        }
        #expect(failures.isEmpty, "first failing float32 pattern: \(failures.first.map { String($0, radix: 16) } ?? "")")
    }
}
