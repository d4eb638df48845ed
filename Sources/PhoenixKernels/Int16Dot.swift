import PhoenixQuant
#if arch(x86_64)
import CPhoenixX86
#endif

/// Decoding's matrix-vector products: quantized weight rows times activations quantized to 16-bit
/// integers (`Int16Activations`), for Q8_0, Q5_0, Q4_K and Q6_K, the formats of the default model.
///
/// A decode step reads every weight once and uses it once, so what counts is how few instructions a
/// weight costs. Here a unit of 32 weights is widened from its 4- to 8-bit codes to 16-bit lanes and
/// multiplied with `vpmaddwd` (16 products per instruction, summed in pairs into exact 32-bit
/// integers); floats appear once per unit: the integer lanes are converted and scaled into eight float
/// accumulators. Per unit and token:
///
///     low, high  = int32 lanes of the unit's weights 0..<16 and 16..<32 times the token's values
///                  (lane l sums positions 2l and 2l + 1 of its half)
///     acc[l]     = fma(Float(low[l] + high[l]), scale · dx, acc[l])        one scale per unit
///     acc[l]     = fma(Float(low[l]), lowScale · dx, acc[l]), then high     Q6_K: a scale per 16
///     mins       = fma(Float(Σq), minScale · dx, mins)                     Q4_K's offsets
///
/// and the dot product is `laneTreeSum(acc) − mins`. `Reference.int16Dot` computes exactly this with
/// scalars, so the two agree to the bit; every token's result is the same whatever other tokens share
/// the call. On CPUs other than x86-64 the reference runs.
extension Kernels {
    /// Whether `int16Dots` handles `type`.
    @inlinable
    public static func hasInt16Dot(_ type: QuantType) -> Bool {
        type == .q8_0 || type == .q5_0 || type == .q4_K || type == .q6_K
    }

    /// out[t · outStride + r] = row r of `w` · token t of `a`, for r in `rows` and every token of `a`.
    /// `w.type` must satisfy `hasInt16Dot`.
    public static func int16Dots(_ w: WeightMatrix, rows: Range<Int>, _ a: Int16Activations,
                                 into out: UnsafeMutablePointer<Float>, outStride: Int) {
        #if arch(x86_64)
        switch w.type {
        case .q8_0: int16Dots(Int16Q8_0.self, w, rows, a, out, outStride)
        case .q5_0: int16Dots(Int16Q5_0.self, w, rows, a, out, outStride)
        case .q4_K: int16Dots(Int16Q4_K.self, w, rows, a, out, outStride)
        case .q6_K: int16Dots(Int16Q6_K.self, w, rows, a, out, outStride)
        default: preconditionFailure("int16Dots: no 16-bit form for \(w.type)")
        }
        #else
        for r in rows {
            for t in 0..<a.tokens { out[t * outStride + r] = Reference.int16Dot(w.type, w.base + r * w.rowBytes, a, token: t)! }
        }
        #endif
    }

    /// The eight accumulator lanes summed in a fixed tree: (0+4 + 2+6) + (1+5 + 3+7).
    @inlinable @inline(__always)
    public static func laneTreeSum(_ v: SIMD8<Float>) -> Float {
        let half = v.lowHalf + v.highHalf
        return (half[0] + half[2]) + (half[1] + half[3])
    }
}

#if arch(x86_64)
/// A unit of 32 weights as two halves of sixteen 16-bit codes, and the floats that scale them.
@usableFromInline
struct Int16Unit {
    var low: __m256i
    var high: __m256i
    var lowScale: Float
    var highScale: Float
    var minScale: Float
}

@usableFromInline
protocol Int16Format {
    /// What a block's units share (its fp16 scales as floats), read once per block.
    associatedtype Header
    static var blockBytes: Int { get }
    static var unitsPerBlock: Int { get }
    /// Whether the halves have their own scales (else `lowScale` serves both).
    static var splitScales: Bool { get }
    /// Whether weights carry an offset, `minScale` times the unit's activation sum.
    static var hasMins: Bool { get }
    static func header(_ block: UnsafeRawPointer) -> Header
    static func unit(_ block: UnsafeRawPointer, _ header: Header, _ unit: Int) -> Int16Unit
}

extension Kernels {
    @inline(__always)
    static func load128(_ p: UnsafeRawPointer) -> __m128i {
        _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self))
    }

    @inline(__always)
    static func load256(_ p: UnsafeRawPointer) -> __m256i {
        _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))
    }

    @inline(__always)
    static func prefetch(_ p: UnsafeRawPointer) { phoenix_prefetch(p) }

    /// Adds unit `u`'s products with token `t` to `acc` and `mins` (the formulas above).
    @inline(__always)
    static func accumulate<F: Int16Format>(_ format: F.Type, _ acc: inout SIMD8<Float>, _ mins: inout Float,
                                           _ w: Int16Unit, _ a: Kernels.Int16Activations, token t: Int, unit u: Int) {
        let block = t * a.blocksPerRow + u
        let x = UnsafeRawPointer(a.values + 32 * block), dx = a.scales[block]
        let low = _mm256_madd_epi16(w.low, load256(x)), high = _mm256_madd_epi16(w.high, load256(x + 32))
        if F.splitScales {
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(low), _mm256_set1_ps(w.lowScale * dx), acc)
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(high), _mm256_set1_ps(w.highScale * dx), acc)
        } else {
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(low, high)), _mm256_set1_ps(w.lowScale * dx), acc)
        }
        if F.hasMins { mins = mins.addingProduct(Float(a.sums[block]), w.minScale * dx) }
    }

    static func int16Dots<F: Int16Format>(_ format: F.Type, _ w: WeightMatrix, _ rows: Range<Int>,
                                          _ a: Kernels.Int16Activations, _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
        let blocks = w.columns / 32 / F.unitsPerBlock
        var r = rows.lowerBound
        // One token: two rows at a time, so two chains of FMAs are in flight.
        while a.tokens == 1, r + 2 <= rows.upperBound {
            let first = w.base + r * w.rowBytes, second = first + w.rowBytes
            var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), mins0: Float = 0, mins1: Float = 0
            for b in 0..<blocks {
                let block0 = first + b * F.blockBytes, block1 = second + b * F.blockBytes
                // The rows stream from memory: ask for the bytes 4 KB ahead before they are needed (measured
                // here: 11% faster decoding than 2 KB ahead, and 8 KB ahead no better).
                prefetch(block1 + 4096)
                let header0 = F.header(block0), header1 = F.header(block1)
                for k in 0..<F.unitsPerBlock {
                    let u = b * F.unitsPerBlock + k
                    accumulate(format, &acc0, &mins0, F.unit(block0, header0, k), a, token: 0, unit: u)
                    accumulate(format, &acc1, &mins1, F.unit(block1, header1, k), a, token: 0, unit: u)
                }
            }
            out[r] = laneTreeSum(acc0) - mins0
            out[r + 1] = laneTreeSum(acc1) - mins1
            r += 2
        }
        // Otherwise a row at a time, its units widened once for up to eight tokens (four for Q4_K, whose
        // offsets would need eight more registers). The eight- and four-token loops are written out: one
        // loop with a second group of four behind a flag measured slower at eight tokens (its 8-token
        // time was about twice its 4-token time, against 1.7 times here).
        while r < rows.upperBound {
            let row = w.base + r * w.rowBytes
            var t = 0
            while !F.hasMins, t + 8 <= a.tokens {
                var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                           SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                var unused: Float = 0  // no offsets in these formats
                for b in 0..<blocks {
                    let block = row + b * F.blockBytes, header = F.header(block)
                    prefetch(block + 4096)
                    for k in 0..<F.unitsPerBlock {
                        let u = b * F.unitsPerBlock + k, weights = F.unit(block, header, k)
                        accumulate(format, &acc.0, &unused, weights, a, token: t, unit: u)
                        accumulate(format, &acc.1, &unused, weights, a, token: t + 1, unit: u)
                        accumulate(format, &acc.2, &unused, weights, a, token: t + 2, unit: u)
                        accumulate(format, &acc.3, &unused, weights, a, token: t + 3, unit: u)
                        accumulate(format, &acc.4, &unused, weights, a, token: t + 4, unit: u)
                        accumulate(format, &acc.5, &unused, weights, a, token: t + 5, unit: u)
                        accumulate(format, &acc.6, &unused, weights, a, token: t + 6, unit: u)
                        accumulate(format, &acc.7, &unused, weights, a, token: t + 7, unit: u)
                    }
                }
                out[t * stride + r] = laneTreeSum(acc.0)
                out[(t + 1) * stride + r] = laneTreeSum(acc.1)
                out[(t + 2) * stride + r] = laneTreeSum(acc.2)
                out[(t + 3) * stride + r] = laneTreeSum(acc.3)
                out[(t + 4) * stride + r] = laneTreeSum(acc.4)
                out[(t + 5) * stride + r] = laneTreeSum(acc.5)
                out[(t + 6) * stride + r] = laneTreeSum(acc.6)
                out[(t + 7) * stride + r] = laneTreeSum(acc.7)
                t += 8
            }
            while t + 4 <= a.tokens {
                var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                var mins: (Float, Float, Float, Float) = (0, 0, 0, 0)
                for b in 0..<blocks {
                    let block = row + b * F.blockBytes, header = F.header(block)
                    prefetch(block + 4096)
                    for k in 0..<F.unitsPerBlock {
                        let u = b * F.unitsPerBlock + k, weights = F.unit(block, header, k)
                        accumulate(format, &acc.0, &mins.0, weights, a, token: t, unit: u)
                        accumulate(format, &acc.1, &mins.1, weights, a, token: t + 1, unit: u)
                        accumulate(format, &acc.2, &mins.2, weights, a, token: t + 2, unit: u)
                        accumulate(format, &acc.3, &mins.3, weights, a, token: t + 3, unit: u)
                    }
                }
                out[t * stride + r] = laneTreeSum(acc.0) - mins.0
                out[(t + 1) * stride + r] = laneTreeSum(acc.1) - mins.1
                out[(t + 2) * stride + r] = laneTreeSum(acc.2) - mins.2
                out[(t + 3) * stride + r] = laneTreeSum(acc.3) - mins.3
                t += 4
            }
            while t < a.tokens {
                var acc = SIMD8<Float>(), mins: Float = 0
                for b in 0..<blocks {
                    let block = row + b * F.blockBytes, header = F.header(block)
                    for k in 0..<F.unitsPerBlock {
                        accumulate(format, &acc, &mins, F.unit(block, header, k), a, token: t, unit: b * F.unitsPerBlock + k)
                    }
                }
                out[t * stride + r] = laneTreeSum(acc) - mins
                t += 1
            }
            r += 1
        }
    }
}

/// Q8_0: 34-byte blocks of 32: fp16 d, then 32 signed codes; w = d · q.
enum Int16Q8_0: Int16Format {
    static var blockBytes: Int { 34 }
    static var unitsPerBlock: Int { 1 }
    static var splitScales: Bool { false }
    static var hasMins: Bool { false }

    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Float { Kernels.half(block, 0) }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ d: Float, _ unit: Int) -> Int16Unit {
        Int16Unit(low: _mm256_cvtepi8_epi16(Kernels.load128(block + 2)), high: _mm256_cvtepi8_epi16(Kernels.load128(block + 18)),
                  lowScale: d, highScale: d, minScale: 0)
    }
}

/// Q5_0: 22-byte blocks of 32: fp16 d, 32 high bits, 16 bytes of nibbles (low ones weights 0..<16,
/// high ones 16..<32); w = d · (q − 16).
enum Int16Q5_0: Int16Format {
    static var blockBytes: Int { 22 }
    static var unitsPerBlock: Int { 1 }
    static var splitScales: Bool { false }
    static var hasMins: Bool { false }

    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Float { Kernels.half(block, 0) }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ d: Float, _ unit: Int) -> Int16Unit {
        // Bytes 0..<16 low nibbles (weights 0..<16), 16..<32 high nibbles (weights 16..<32).
        let nibbles = Kernels.load128(block + 6), mask = _mm_set1_epi8(0x0F)
        let codes = phoenix_join128(_mm_and_si128(nibbles, mask), _mm_and_si128(_mm_srli_epi16(nibbles, 4), mask))
        // Byte j is all ones where high bit j is set: byte j takes byte j/8 of the 32 bits, every other
        // bit of it is forced to 1, and only then can it equal 0xFF.
        let highBits = _mm256_set1_epi32(block.loadUnaligned(fromByteOffset: 2, as: Int32.self))
        let spread = _mm256_shuffle_epi8(highBits, _mm256_setr_epi64x(0, 0x0101_0101_0101_0101,
                                                                      0x0202_0202_0202_0202, 0x0303_0303_0303_0303))
        let others = _mm256_set1_epi64x(0x7FBF_DFEF_F7FB_FDFE)
        let set = _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi8(-1))
        // code − 16 = nibble + (high bit set ? 0 : −16), in signed bytes, then widened.
        let signed = _mm256_add_epi8(codes, _mm256_andnot_si256(set, _mm256_set1_epi8(-16)))
        return Int16Unit(low: _mm256_cvtepi8_epi16(_mm256_castsi256_si128(signed)),
                         high: _mm256_cvtepi8_epi16(phoenix_high128(signed)),
                         lowScale: d, highScale: d, minScale: 0)
    }
}

/// Q4_K: 144-byte super-blocks of 256: fp16 d and dmin, 12 bytes of 6-bit scales and mins for the 8
/// units, 128 bytes of nibbles (unit 2c in the low nibbles of bytes 32c..<32c+32, unit 2c+1 in the
/// high ones); w = d·scale·q − dmin·min.
enum Int16Q4_K: Int16Format {
    static var blockBytes: Int { 144 }
    static var unitsPerBlock: Int { 8 }
    static var splitScales: Bool { false }
    static var hasMins: Bool { true }

    /// The units' scales d·scale and offsets dmin·min.
    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> (scales: SIMD8<Float>, mins: SIMD8<Float>) {
        var scales = SIMD8<Float>(), mins = SIMD8<Float>()
        for g in 0..<8 {
            let (scale, min) = Kernels.scaleMinK4(block + 4, g)
            scales[g] = Float(scale)
            mins[g] = Float(min)
        }
        return (Kernels.half(block, 0) * scales, Kernels.half(block, 2) * mins)
    }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ header: (scales: SIMD8<Float>, mins: SIMD8<Float>), _ unit: Int) -> Int16Unit {
        let codes = block + 16 + 32 * (unit / 2), shift = Int32(4 * (unit % 2)), mask = _mm_set1_epi8(0x0F)
        return Int16Unit(low: _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(Kernels.load128(codes), shift), mask)),
                         high: _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(Kernels.load128(codes + 16), shift), mask)),
                         lowScale: header.scales[unit], highScale: header.scales[unit], minScale: header.mins[unit])
    }
}

/// Q6_K: 210-byte super-blocks of 256: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8
/// scales (one per 16 weights), fp16 d; weight 128h + 32t + l has w = d·scale·(q − 32).
enum Int16Q6_K: Int16Format {
    static var blockBytes: Int { 210 }
    static var unitsPerBlock: Int { 8 }
    static var splitScales: Bool { true }
    static var hasMins: Bool { false }

    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Float { Kernels.half(block, 208) }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ d: Float, _ unit: Int) -> Int16Unit {
        let (h, t) = (unit / 4, unit % 4)
        let low = block + 64 * h + 32 * (t % 2), lowShift = Int32(4 * (t / 2))
        let high = block + 128 + 32 * h, highShift = Int32(2 * t)
        let scale = { (k: Int) in d * Float(block.load(fromByteOffset: 192 + 8 * h + 2 * t + k, as: Int8.self)) }
        @inline(__always) func codes(_ l: Int) -> __m256i {
            let lowBits = _mm_and_si128(_mm_srli_epi16(Kernels.load128(low + l), lowShift), _mm_set1_epi8(0x0F))
            let highBits = _mm_and_si128(_mm_slli_epi16(_mm_srli_epi16(Kernels.load128(high + l), highShift), 4),
                                         _mm_set1_epi8(0x30))
            return _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_or_si128(lowBits, highBits)), _mm256_set1_epi16(32))
        }
        return Int16Unit(low: codes(0), high: codes(16), lowScale: scale(0), highScale: scale(1), minScale: 0)
    }
}
#endif
