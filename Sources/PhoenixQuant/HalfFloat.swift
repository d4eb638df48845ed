/// fp16 (IEEE binary16) and bf16 (bfloat16) as raw bit patterns, converted exactly as numpy and gguf-py do.
///
/// Blocks store 16-bit floats as `UInt16` bit patterns, so every conversion is explicit and exact:
/// - fp16 from Float: round to nearest, ties to even; overflow gives infinity; fp16 subnormals are kept;
///   NaN keeps its sign and the top 10 payload bits, and a payload that would vanish becomes 1 (numpy's
///   `npy_floatbits_to_halfbits`; ggml rounds finite values the same way but writes NaN as 0x7E00).
/// - bf16 from Float: gguf-py's `BF16.quantize_blocks` (= ggml's `ggml_compute_fp32_to_bf16`): NaN is
///   quieted and truncated, everything else rounds to nearest even.
/// - Float from either: exact, NaN payloads preserved.
/// Pure functions on values: thread-safe, no allocation.
public enum HalfFloat {
    /// The fp16 bit pattern nearest to `value`, as numpy's `astype(np.float16)`.
    public static func fp16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {  // infinity or NaN
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
            let payload = UInt16(truncatingIfNeeded: (magnitude & 0x007F_FFFF) >> 13)
            return sign | 0x7C00 | (payload == 0 ? 1 : payload)
        }
        if magnitude >= 0x4780_0000 { return sign | 0x7C00 }  // |value| >= 2^16: infinity even before rounding
        if magnitude < 0x3880_0000 {                           // |value| < 2^-14: fp16 subnormal or zero
            if magnitude < 0x3300_0000 { return sign }          // |value| < 2^-25: below half the smallest subnormal
            // value = significand * 2^(exponent - 150) = (significand >> shift) units of 2^-24.
            // A carry into bit 10 yields 0x0400, the smallest normal: still the right encoding.
            let exponent = magnitude >> 23                      // 102...112
            let significand = (magnitude & 0x007F_FFFF) | 0x0080_0000
            return sign | UInt16(truncatingIfNeeded: roundingShift(significand, by: 126 - exponent))
        }
        // Normal: rebias the exponent from 127 to 15 and keep 10 of 23 fraction bits. A carry out of the
        // fraction bumps the exponent, up to 0x7C00 (infinity) for values in [65520, 65536).
        return sign | UInt16(truncatingIfNeeded: roundingShift(magnitude - (112 << 23), by: 13))
    }

    /// The Float equal to an fp16 bit pattern (exact; NaN payload shifted into place, not quieted).
    public static func float(fp16Bits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let fraction = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:   // zero or subnormal: fraction * 2^-24, exact in Float
            return Float(bitPattern: sign | (Float(fraction) * 0x1p-24).bitPattern)
        case 31:  // infinity or NaN
            return Float(bitPattern: sign | 0x7F80_0000 | (fraction << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (fraction << 13))
        }
    }

    /// The bf16 bit pattern for `value`, as gguf-py's `BF16.quantize_blocks`.
    public static func bf16Bits(_ value: Float) -> UInt16 {
        var bits = value.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 {  // NaN: keep the top half, force the quiet bit
            bits = (bits & 0xFFFF_0000) | 0x0040_0000
        }
        // Round to nearest even on the dropped 16 bits; 64-bit sum so nothing wraps.
        let rounded = (UInt64(bits) + 0x7FFF + UInt64((bits >> 16) & 1)) >> 16
        return UInt16(truncatingIfNeeded: rounded)
    }

    /// The Float equal to a bf16 bit pattern: the pattern in the top 16 bits (exact, NaN payload kept).
    public static func float(bf16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `value >> shift` rounded to nearest, ties to even (shift in 1...31).
    private static func roundingShift(_ value: UInt32, by shift: UInt32) -> UInt32 {
        let kept = value >> shift
        let rest = value & ((1 << shift) - 1)
        let half: UInt32 = 1 << (shift - 1)
        return rest > half || (rest == half && kept & 1 == 1) ? kept + 1 : kept
    }
}
