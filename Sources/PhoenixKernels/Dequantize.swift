import PhoenixQuant

/// Fast dequantization of whole rows for the formats the default model uses (F32, F16, Q8_0, Q5_0,
/// Q4_K, Q6_K); every other format goes through PhoenixQuant's reference dequantizer. Each fast path
/// computes the same float operations as the reference (so the results are bit-identical, which a test
/// checks), eight weights at a time; the quantized ones expand units of 32 with `FloatUnits.weights`.
extension Kernels {
    @inlinable
    public static func dequantizeRow(_ type: QuantType, _ src: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>, count: Int) {
        switch type {
        case .f32: y.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16: dequantizeF16(src, y, count)
        case .q8_0: dequantize(FloatQ8_0.self, src, y, blocks: count / 32)
        case .q5_0: dequantize(FloatQ5_0.self, src, y, blocks: count / 32)
        case .q4_K: dequantize(FloatQ4_K.self, src, y, blocks: count / 256)
        case .q6_K: dequantize(FloatQ6_K.self, src, y, blocks: count / 256)
        default:
            let bytes = type.byteCount(forWeights: count)!
            Quantization.dequantize(type, from: UnsafeRawBufferPointer(start: src, count: bytes),
                                    into: UnsafeMutableBufferPointer(start: y, count: count))
        }
    }

    @inlinable @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Exact float values of small integers (|q| < 2^22) without the generic SIMD conversion, which the
    /// compiler leaves as an unspecialized call: 1.5·2^23 + q has q in its low mantissa bits, so
    /// reinterpreting the bits and subtracting 1.5·2^23 gives q.
    @inlinable @inline(__always)
    static func float(_ q: SIMD8<Int32>) -> SIMD8<Float> {
        unsafeBitCast(q &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Float>, _ y: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(y).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Eight bytes widened to 32-bit lanes. Written lane by lane because the generic
    /// `init(truncatingIfNeeded:)` is left unspecialized; this form compiles to one vpmovzxbd.
    @inlinable @inline(__always)
    static func bytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
        let v = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt8>.self)
        return SIMD8<UInt32>(UInt32(v[0]), UInt32(v[1]), UInt32(v[2]), UInt32(v[3]),
                             UInt32(v[4]), UInt32(v[5]), UInt32(v[6]), UInt32(v[7]))
    }

    /// Eight signed bytes widened to 32-bit lanes (one vpmovsxbd).
    @inlinable @inline(__always)
    static func signedBytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int32> {
        let v = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self)
        return SIMD8<Int32>(Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3]),
                            Int32(v[4]), Int32(v[5]), Int32(v[6]), Int32(v[7]))
    }

    /// 32-bit lanes reinterpreted as signed (the values are small: no change).
    @inlinable @inline(__always)
    static func signed(_ v: SIMD8<UInt32>) -> SIMD8<Int32> { unsafeBitCast(v, to: SIMD8<Int32>.self) }

    @inlinable
    static func dequantizeF16(_ src: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { y[i] = half(src, 2 * i) }
    }

    /// Q5_0: q - 16 for weights 8k..<8k+8 (`low`) and 16+8k..<24+8k (`top`) of a block, as floats.
    @inlinable @inline(__always)
    static func q5_0Codes(_ block: UnsafeRawPointer, lanes k: Int) -> (low: SIMD8<Float>, top: SIMD8<Float>) {
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) &+ UInt32(8 * k)
        let high = SIMD8<UInt32>(repeating: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let nibbles = bytes8(block, 6 + 8 * k)
        let low = (nibbles & 0x0F) | ((high &>> lanes) & 1) &<< 4
        let top = (nibbles &>> 4) | ((high &>> (lanes &+ 16)) & 1) &<< 4
        return (float(signed(low) &- 16), float(signed(top) &- 16))
    }

    /// Q4_K: codes 8k..<8k+8 of group `g` as floats (group 2c in the low nibbles of bytes 32c..<32c+32,
    /// group 2c+1 in the high ones).
    @inlinable @inline(__always)
    static func q4KCodes(_ codes: UnsafeRawPointer, group g: Int, lanes k: Int) -> SIMD8<Float> {
        float(signed((bytes8(codes, 32 * (g / 2) + 8 * k) &>> UInt32(4 * (g % 2))) & 0x0F))
    }

    /// Q6_K: q - 32 for weights i..<i+8 of a super-block, i = 128h + 32t + l, as floats.
    @inlinable @inline(__always)
    static func q6KCodes(_ ql: UnsafeRawPointer, _ qh: UnsafeRawPointer, h: Int, t: Int, l: Int) -> SIMD8<Float> {
        let low = (bytes8(ql, 64 * h + 32 * (t % 2) + l) &>> UInt32(4 * (t / 2))) & 0x0F
        let high = (bytes8(qh, 32 * h + l) &>> UInt32(2 * t)) & 3
        return float(signed(low | high &<< 4) &- 32)
    }

    /// The 6-bit scale and min of group `g` from Q4_K/Q5_K's 12 packed bytes (ggml's get_scale_min_k4).
    @inlinable @inline(__always)
    static func scaleMinK4(_ q: UnsafeRawPointer, _ g: Int) -> (UInt8, UInt8) {
        let byte = { (i: Int) in q.load(fromByteOffset: i, as: UInt8.self) }
        if g < 4 { return (byte(g) & 63, byte(g + 4) & 63) }
        return ((byte(g + 4) & 0x0F) | ((byte(g - 4) >> 6) << 4), (byte(g + 4) >> 4) | ((byte(g) >> 6) << 4))
    }

}
