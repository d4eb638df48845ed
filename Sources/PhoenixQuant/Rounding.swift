/// Float-to-integer conversions as ggml's C code performs them on x86-64, so quantizers pick the same codes.
enum Rounding {
    /// ggml's `nearest_int`: adding 1.5 * 2^23 leaves round(value) in the low mantissa bits, so this is round
    /// to nearest with ties to even. Exact for |value| <= 4194303, as ggml asserts.
    @inline(__always)
    static func nearestInt(_ value: Float) -> Int32 {
        let shifted = value + 12_582_912
        return Int32(bitPattern: shifted.bitPattern & 0x007F_FFFF) - 0x0040_0000
    }

    /// C's `(int)value`: truncation toward zero. Out of range or NaN gives Int32.min, as the x86 instruction
    /// (`cvttss2si`) does, instead of trapping; C casts to narrower types then keep the low bits.
    @inline(__always)
    static func truncate(_ value: Float) -> Int32 {
        guard value >= -2_147_483_648, value < 2_147_483_648 else { return Int32.min }  // also catches NaN
        return Int32(value)
    }

    /// C's `(int8_t)value`.
    @inline(__always)
    static func truncateToInt8(_ value: Float) -> Int32 {
        Int32(Int8(truncatingIfNeeded: truncate(value)))
    }
}
