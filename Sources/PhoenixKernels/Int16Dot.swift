#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PhoenixQuant
#if arch(x86_64)
import CPhoenixX86
import PhoenixKernelsAVX512
#endif

/// Decoding's matrix-vector products: quantized weight rows times activations quantized to 16-bit
/// integers (`Int16Activations`), for Q8_0, Q5_0, Q4_K and Q6_K, the formats of the default model, and
/// every other quantized format: Q4_0, Q4_1, Q5_1, Q5_K, Q3_K, Q2_K, Q8_K, IQ4_NL, IQ4_XS and MXFP4.
///
/// A decode step reads every weight once and uses it once, so what counts is how few instructions a
/// weight costs. Here a unit of 32 weights is widened from its 4- to 8-bit codes to 16-bit lanes and
/// multiplied with `vpmaddwd` (16 products per instruction, summed in pairs into exact 32-bit
/// integers); floats appear once per unit: the integer lanes are converted and scaled into eight float
/// accumulators. Per unit and token:
///
///     low, high  = int32 lanes of the unit's weights at even and at odd positions times the token's
///                  values there (lane l sums positions 4l and 4l + 2, and 4l + 1 and 4l + 3)
///     acc[l]     = fma(Float(low[l] + high[l]), scale · dx, acc[l])        one scale per unit; Q6_K's
///                                                                          and Q3_K's lanes 0..<4
///                                                                          (positions 0..<16) take
///                                                                          lowScale, 4..<8 highScale
///     mins[g]    = fma(Float(Σq), minScale · dx, mins[g])                  Q4_K's and Q5_K's offsets,
///                                                                          g = unit mod 8; Q4_1's and
///                                                                          Q5_1's (one unit a block),
///                                                                          g = 0; Q2_K's once per half,
///                                                                          the low half's first
///
/// and the dot product is `laneTreeSum(acc) − laneTreeSum(mins)`. Scales are multiplied by dx before
/// the FMA, as written (in all eight lanes at once, which gives the same bits). `Reference.int16Dot`
/// computes exactly this with scalars, so the two agree to the bit; every token's result is the same
/// whatever other tokens share the call. On CPUs other than x86-64 the reference runs.
extension Kernels {
    /// Whether this CPU and the operating system run the 512-bit kernels (`WideKernels`).
    #if arch(x86_64)
    public static let wideKernelsAvailable = phoenix_has_avx512() != 0
    #else
    public static let wideKernelsAvailable = false
    #endif

    /// Whether `int16Dots` and `int16Gemm` run the 512-bit kernels where they have them: wherever the CPU
    /// can, unless turned off (the tests compare both forms with the references). Turning them on where
    /// the CPU cannot run them leaves them off.
    public static var useWideKernels: Bool {
        get { wideKernelsWanted && wideKernelsAvailable }
        set { wideKernelsWanted = newValue }
    }
    nonisolated(unsafe) static var wideKernelsWanted = !wideKernelsRefused

    /// Whether the environment sets `PHOENIX_WIDE_KERNELS=0`: every command then runs the 256-bit
    /// kernels, as on a CPU with AVX2 and no AVX-512, so that one machine can measure both.
    public static let wideKernelsRefused = getenv("PHOENIX_WIDE_KERNELS").map { String(cString: $0) == "0" } ?? false

    /// Whether `int16Dots` handles `type`.
    @inlinable
    public static func hasInt16Dot(_ type: QuantType) -> Bool {
        switch type {
        case .q8_0, .q5_0, .q4_K, .q6_K, .q4_0, .q5_K, .q4_1, .q5_1, .q3_K, .q2_K, .q8_K, .iq4_NL, .iq4_XS, .mxfp4: true
        default: false
        }
    }

    /// out[t · outStride + r] = row r of `w` · token t of `a`, for r in `rows` and every token of `a`.
    /// `w.type` must satisfy `hasInt16Dot`.
    public static func int16Dots(_ w: WeightMatrix, rows: Range<Int>, _ a: Int16Activations,
                                 into out: UnsafeMutablePointer<Float>, outStride: Int) {
        #if arch(x86_64)
        if w.layout == .q5_0RowPairs { return q5_0RowPairDots(w, rows: rows, a, into: out, outStride: outStride) }
        switch w.type {
        case .q8_0: int16Dots(Int16Q8_0.self, wide: WideKernels.q8_0, w, rows, a, out, outStride)
        case .q5_0: int16Dots(Int16Q5_0.self, wide: WideKernels.q5_0, w, rows, a, out, outStride)
        case .q4_K: int16Dots(Int16Q4_K.self, wide: WideKernels.q4_K, w, rows, a, out, outStride)
        case .q6_K: int16Dots(Int16Q6_K.self, wide: WideKernels.q6_K, w, rows, a, out, outStride)
        case .q4_0: int16Dots(Int16Q4_0.self, w, rows, a, out, outStride)
        case .q5_K: int16Dots(Int16Q5_K.self, w, rows, a, out, outStride)
        case .q4_1: int16Dots(Int16Q4_1.self, w, rows, a, out, outStride)
        case .q5_1: int16Dots(Int16Q5_1.self, w, rows, a, out, outStride)
        case .q3_K: int16Dots(Int16Q3_K.self, w, rows, a, out, outStride)
        case .q2_K: int16Dots(Int16Q2_K.self, w, rows, a, out, outStride)
        case .q8_K: int16Dots(Int16Q8_K.self, w, rows, a, out, outStride)
        case .iq4_NL: int16Dots(Int16IQ4_NL.self, w, rows, a, out, outStride)
        case .iq4_XS: int16Dots(Int16IQ4_XS.self, w, rows, a, out, outStride)
        case .mxfp4: int16Dots(Int16MXFP4.self, w, rows, a, out, outStride)
        default: preconditionFailure("int16Dots: no 16-bit form for \(w.type)")
        }
        #else
        for r in rows {
            for t in 0..<a.tokens { out[t * outStride + r] = Reference.int16Dot(w.type, w.base + r * w.rowBytes, a, token: t)! }
        }
        #endif
    }

    #if arch(x86_64)
    /// `int16Dots` for a format that also has a 512-bit kernel (`wide`, one of `WideKernels`'): for one
    /// token, where the CPU has them, the pairs of rows go to it, and the last row of an odd count to the
    /// 256-bit kernel. The layers' products compute slower than memory delivers their weights. On a
    /// 2-core AMD EPYC (Zen 5), Q5_0's (two thirds of the layers' bytes) decoded the default model 1.13
    /// times as fast with one thread and 1.06 with two; Q4_K's and Q6_K's then 1.05 and 1.03 times as
    /// fast again (eleven paired runs in one process each). Q8_0's, the output matrix's, computes 1.3
    /// times as fast in the caches; streaming from memory, it decoded 1.03 times as fast with one thread
    /// and 1.04 with two (nine pairs).
    static func int16Dots<F: Int16Format>(_ format: F.Type, wide: (WideKernels.RowPairs) -> Void, _ w: WeightMatrix,
                                          _ rows: Range<Int>, _ a: Int16Activations, _ out: UnsafeMutablePointer<Float>,
                                          _ stride: Int) {
        guard a.tokens == 1 && useWideKernels else { return int16Dots(format, w, rows, a, out, stride) }
        let pairs = rows.count / 2
        wide(WideKernels.RowPairs(rows: w.base + rows.lowerBound * w.rowBytes, rowBytes: w.rowBytes, pairs: pairs,
                                  blocks: w.columns / 32 / F.unitsPerBlock, values: UnsafeRawPointer(a.evenOdd),
                                  scales: UnsafePointer(a.scales), sums: UnsafePointer(a.sums),
                                  chunkEnd: UnsafeRawPointer(w.base + rows.upperBound * w.rowBytes),
                                  prefetchDistance: widePrefetchDistance, out: out + rows.lowerBound))
        int16Dots(format, w, rows.lowerBound + 2 * pairs..<rows.upperBound, a, out, stride)
    }
    #endif

    /// The eight accumulator lanes summed in a fixed tree: (0+4 + 2+6) + (1+5 + 3+7).
    @inlinable @inline(__always)
    public static func laneTreeSum(_ v: SIMD8<Float>) -> Float {
        let half = v.lowHalf + v.highHalf
        return (half[0] + half[2]) + (half[1] + half[3])
    }
}

#if arch(x86_64)
/// A unit of 32 weights as two halves of sixteen 16-bit codes: the weights at even and at odd
/// positions, to be paired with `Int16Activations.evenOdd`. In that order a block of 4- to 8-bit codes,
/// loaded whole, splits into 16-bit lanes by shifts and masks (lane j holds byte 2j in its low half and
/// byte 2j + 1 in its high half); widening it in position order took shuffles, which on Intel cores all
/// queue for one port, and that port was what limited decoding.
@usableFromInline
struct Int16Unit {
    var low: __m256i
    var high: __m256i

    /// The codes in position order: weights 0..<16, then 16..<32.
    @inline(__always)
    func inPositionOrder() -> Int16Unit {
        // unpacklo/hi interleave within each 128-bit half: [w0...w7 | w16...w23] and [w8...w15 | w24...w31].
        let first = _mm256_unpacklo_epi16(low, high), second = _mm256_unpackhi_epi16(low, high)
        return Int16Unit(low: phoenix_join128(_mm256_castsi256_si128(first), _mm256_castsi256_si128(second)),
                         high: phoenix_join128(phoenix_high128(first), phoenix_high128(second)))
    }
}

extension Int16Unit {
    /// 32 signed bytes in position order, lane j of the result taking byte 2j (`low`) and byte 2j + 1
    /// (`high`), sign-extended by arithmetic shifts.
    @inline(__always)
    init(signedBytes bytes: __m256i) {
        self.init(low: _mm256_srai_epi16(_mm256_slli_epi16(bytes, 8), 8), high: _mm256_srai_epi16(bytes, 8))
    }
}

/// A token's activation sums from one block on (`Int16Activations.sums` and its halves' sums), for
/// the formats whose weights carry offsets.
@usableFromInline
struct Int16BlockSums {
    let whole: UnsafePointer<Int32>
    let lowHalf: UnsafePointer<Int32>
    let highHalf: UnsafePointer<Int32>

    @inline(__always)
    init(_ a: Kernels.Int16Activations, block: Int) {
        whole = UnsafePointer(a.sums + block)
        lowHalf = UnsafePointer(a.lowHalfSums + block)
        highHalf = UnsafePointer(a.highHalfSums + block)
    }
}

@usableFromInline
protocol Int16Format {
    /// What a block's units share (their scales as floats), read once per block.
    associatedtype Header
    static var blockBytes: Int { get }
    static var unitsPerBlock: Int { get }
    /// Whether the halves have their own scales (else the low one serves both).
    static var splitScales: Bool { get }
    /// Whether weights carry an offset (its scale times the unit's activation sum, `offsets`).
    static var hasMins: Bool { get }
    /// Whether the offset differs between a unit's halves (Q2_K: `unitMins`).
    static var splitMins: Bool { get }
    static func header(_ block: UnsafeRawPointer) -> Header
    /// Unit `k`'s codes.
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit
    /// Units `2p` and `2p + 1`, which may share loads (formats with several units per block).
    static func units(_ block: UnsafeRawPointer, pair p: Int) -> (Int16Unit, Int16Unit)
    /// Unit `k`'s scales (low, high).
    static func scales(_ header: Header, _ k: Int) -> (Float, Float)
    /// Unit `k`'s scale per accumulator lane, for formats with split scales: lanes 0..<4 sum positions
    /// 0..<16, which have the low scale, and lanes 4..<8 the rest.
    static func laneScales(_ header: Header, _ k: Int) -> SIMD8<Float>
    /// Adds the block's offsets for one token to `acc`, lane g for unit g (formats with mins).
    static func offsets(_ header: Header, dx: UnsafePointer<Float>, sums: Int16BlockSums, _ acc: inout SIMD8<Float>)
    /// Unit `k`'s offset scale (dmin·min; formats with mins).
    static func unitMin(_ header: Header, _ k: Int) -> Float
    /// The offset scales of unit `k`'s halves (both `unitMin` unless `splitMins`).
    static func unitMins(_ header: Header, _ k: Int) -> (Float, Float)
    /// The scales of the block's units 0..<8 (formats with eight units and no split scales).
    static func unitScales(_ header: Header) -> SIMD8<Float>
}

extension Int16Format {
    /// Whether the one-token kernel multiplies a block's unit scales by their activation scales all at
    /// once (`unitScales`): eight units with one scale each.
    static var prescaled: Bool { unitsPerBlock == 8 && !splitScales }
}

/// A format implements `unit` (one unit per block) or `units` (units that share loads); each default
/// is written with the other.
extension Int16Format {
    @inline(__always)
    static func units(_ block: UnsafeRawPointer, pair p: Int) -> (Int16Unit, Int16Unit) {
        (unit(block, 2 * p), unit(block, 2 * p + 1))
    }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        let (even, odd) = units(block, pair: k / 2)
        return k % 2 == 0 ? even : odd
    }

    @inline(__always)
    static func offsets(_ header: Header, dx: UnsafePointer<Float>, sums: Int16BlockSums, _ acc: inout SIMD8<Float>) {}

    @inline(__always)
    static func unitMin(_ header: Header, _ k: Int) -> Float { 0 }

    static var splitMins: Bool { false }

    @inline(__always)
    static func unitMins(_ header: Header, _ k: Int) -> (Float, Float) { (unitMin(header, k), unitMin(header, k)) }

    @inline(__always)
    static func unitScales(_ header: Header) -> SIMD8<Float> {
        SIMD8(scales(header, 0).0, scales(header, 1).0, scales(header, 2).0, scales(header, 3).0,
              scales(header, 4).0, scales(header, 5).0, scales(header, 6).0, scales(header, 7).0)
    }

    @inline(__always)
    static func laneScales(_ header: Header, _ k: Int) -> SIMD8<Float> {
        let (low, high) = scales(header, k)
        return SIMD8(lowHalf: SIMD4(repeating: low), highHalf: SIMD4(repeating: high))
    }
}

/// Blocks of one unit that start with their fp16 scale d: w = d · code (Q8_0, Q5_0, Q4_0).
protocol Int16ScaledFormat: Int16Format where Header == Float {}

extension Int16ScaledFormat {
    static var unitsPerBlock: Int { 1 }
    static var splitScales: Bool { false }
    static var hasMins: Bool { false }

    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Float { phoenix_half(block.loadUnaligned(as: UInt16.self)) }

    @inline(__always)
    static func scales(_ d: Float, _ k: Int) -> (Float, Float) { (d, d) }
}

/// A block's fp16 scale d and minimum m, as floats.
struct Int16ScaleAndMin {
    var d: Float
    var m: Float
}

/// Blocks of one unit that start with fp16 d and m: w = d · code + m (Q4_1, Q5_1). Each block carries
/// an offset, m times its activation sum, kept in lane 0 of the offsets (`offsets`).
protocol Int16ScaledWithMinFormat: Int16Format where Header == Int16ScaleAndMin {}

extension Int16ScaledWithMinFormat {
    static var unitsPerBlock: Int { 1 }
    static var splitScales: Bool { false }
    static var hasMins: Bool { true }

    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Int16ScaleAndMin {
        Int16ScaleAndMin(d: phoenix_half(block.loadUnaligned(as: UInt16.self)),
                         m: phoenix_half(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
    }

    @inline(__always)
    static func scales(_ header: Int16ScaleAndMin, _ k: Int) -> (Float, Float) { (header.d, header.d) }

    /// The offset is subtracted (`laneTreeSum(acc) − laneTreeSum(mins)`), and m is added: −m.
    @inline(__always)
    static func unitMin(_ header: Int16ScaleAndMin, _ k: Int) -> Float { -header.m }

    @inline(__always)
    static func offsets(_ header: Int16ScaleAndMin, dx: UnsafePointer<Float>, sums: Int16BlockSums,
                        _ acc: inout SIMD8<Float>) {
        acc[0] = acc[0].addingProduct(Float(sums.whole[0]), -header.m * dx[0])
    }
}

/// Super-blocks of eight units with one scale each and no offsets, the header being the eight scales
/// (Q8_K, IQ4_XS).
protocol Int16EightScalesFormat: Int16Format where Header == SIMD8<Float> {}

extension Int16EightScalesFormat {
    static var unitsPerBlock: Int { 8 }
    static var splitScales: Bool { false }
    static var hasMins: Bool { false }

    @inline(__always)
    static func scales(_ header: SIMD8<Float>, _ k: Int) -> (Float, Float) { (header[k], header[k]) }

    @inline(__always)
    static func unitScales(_ header: SIMD8<Float>) -> SIMD8<Float> { header }
}

/// Super-blocks of eight units with a scale for each 16 weights and no offsets, the header being the 16
/// scales, 2k and 2k + 1 unit k's halves (Q6_K, Q3_K).
protocol Int16SixteenScalesFormat: Int16Format where Header == SIMD16<Float> {}

extension Int16SixteenScalesFormat {
    static var unitsPerBlock: Int { 8 }
    static var splitScales: Bool { true }
    static var hasMins: Bool { false }

    @inline(__always)
    static func scales(_ header: SIMD16<Float>, _ k: Int) -> (Float, Float) {
        (header[2 * k], header[2 * k + 1])
    }

    /// Scales 2k (four lanes) and 2k + 1 (four lanes), picked from the header with one permutation.
    @inline(__always)
    static func laneScales(_ header: SIMD16<Float>, _ k: Int) -> SIMD8<Float> {
        let i = Int32(2 * (k % 4))
        return _mm256_permutevar8x32_ps(k < 4 ? header.lowHalf : header.highHalf,
                                        _mm256_setr_epi32(i, i, i, i, i + 1, i + 1, i + 1, i + 1))
    }
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

    /// The 32 fifth bits at `p` (Q5_0's and Q5_1's, little-endian) as 32 bytes in position order, all
    /// ones where the bit is set: byte j takes byte j/8 of the 32 bits, every other bit of it is forced
    /// to 1, and only then can it equal 0xFF.
    @inline(__always)
    static func fifthBitBytes(_ p: UnsafeRawPointer) -> __m256i {
        let bits = _mm256_set1_epi32(p.loadUnaligned(as: Int32.self))
        let spread = _mm256_shuffle_epi8(bits, _mm256_setr_epi64x(0, 0x0101_0101_0101_0101, 0x0202_0202_0202_0202,
                                                                  0x0303_0303_0303_0303))
        let others = _mm256_set1_epi64x(0x7FBF_DFEF_F7FB_FDFE)
        return _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi8(-1))
    }

    /// The 16 bytes of nibbles at `p` (Q4_0's, Q4_1's, Q5_0's and Q5_1's: low nibbles weights 0..<16,
    /// high ones 16..<32) as 32 bytes in position order. Both 128-bit halves get the 16 bytes; the low
    /// half keeps the low nibbles, the high half the high ones, shifted down within its 32-bit lanes.
    @inline(__always)
    static func nibbleBytes(_ p: UnsafeRawPointer) -> __m256i {
        let nibbles = _mm256_broadcastsi128_si256(load128(p))
        let keep = _mm256_setr_epi64x(0x0F0F_0F0F_0F0F_0F0F, 0x0F0F_0F0F_0F0F_0F0F, -0x0F0F_0F0F_0F0F_0F10, -0x0F0F_0F0F_0F0F_0F10)
        return _mm256_srlv_epi32(_mm256_and_si256(nibbles, keep), _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4))
    }

    /// Asks for the bytes `ahead` past `block`, a line for every 64 bytes of a block, so blocks longer
    /// than a line (Q4_K's 144 bytes, Q6_K's 210) have all their lines on the way, not only the first.
    @inline(__always)
    static func prefetchAhead<F: Int16Format>(_ format: F.Type, _ block: UnsafeRawPointer, _ ahead: Int) {
        for offset in Swift.stride(from: 0, to: F.blockBytes, by: 64) { prefetch(block + ahead + offset) }
    }

    /// Calls `body(k, unit)` for each unit of `block` in order, two at a time where the format shares loads
    /// between neighbours. The decode loops pass a local function marked `@inline(__always)`: given a
    /// closure literal, the compiler left some of them as a call per unit (Q4_K's four-token loop, for one).
    @inline(__always)
    static func forEachUnit<F: Int16Format>(_ format: F.Type, _ block: UnsafeRawPointer, _ body: (Int, Int16Unit) -> Void) {
        if F.unitsPerBlock == 1 { return body(0, F.unit(block, 0)) }
        for p in 0..<F.unitsPerBlock / 2 {
            let (even, odd) = F.units(block, pair: p)
            body(2 * p, even)
            body(2 * p + 1, odd)
        }
    }

    /// Adds unit `k` (`w`, with the block's `header`) times the token values at `x` to `acc` (the
    /// formulas above), `dx` being the activation block's scale in every lane.
    @inline(__always)
    static func accumulate<F: Int16Format>(_ format: F.Type, _ acc: inout SIMD8<Float>, _ w: Int16Unit,
                                           _ x: UnsafeRawPointer, _ header: F.Header, _ k: Int, dx blockScale: SIMD8<Float>) {
        accumulate(&acc, w, x, scale: unitScale(format, header, k, dx: blockScale))
    }

    /// Unit `k`'s scale per accumulator lane times the activation block's scale `dx` (in every lane).
    @inline(__always)
    static func unitScale<F: Int16Format>(_ format: F.Type, _ header: F.Header, _ k: Int, dx: SIMD8<Float>) -> SIMD8<Float> {
        (F.splitScales ? F.laneScales(header, k) : SIMD8(repeating: F.scales(header, k).0)) * dx
    }

    /// `accumulate` with the unit's scale already multiplied by the activation block's.
    @inline(__always)
    static func accumulate(_ acc: inout SIMD8<Float>, _ w: Int16Unit, _ x: UnsafeRawPointer, scale: SIMD8<Float>) {
        let low = _mm256_madd_epi16(w.low, load256(x)), high = _mm256_madd_epi16(w.high, load256(x + 32))
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(low, high)), scale, acc)
    }

    static func int16Dots<F: Int16Format>(_ format: F.Type, _ w: WeightMatrix, _ rows: Range<Int>,
                                          _ a: Kernels.Int16Activations, _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
        let blocks = w.columns / 32 / F.unitsPerBlock
        // Token t's 32 values (in the order the format's units come in), scale and sum for unit u (and
        // the units after it).
        @inline(__always) func values(_ t: Int, _ u: Int) -> UnsafeRawPointer {
            UnsafeRawPointer(a.evenOdd + 32 * (t * a.blocksPerRow + u))
        }
        @inline(__always) func dx(_ t: Int, _ u: Int) -> UnsafePointer<Float> { UnsafePointer(a.scales + t * a.blocksPerRow + u) }
        @inline(__always) func dxVector(_ t: Int, _ u: Int) -> SIMD8<Float> { a.scaleVectors[t * a.blocksPerRow + u] }
        @inline(__always) func sums(_ t: Int, _ u: Int) -> Int16BlockSums { Int16BlockSums(a, block: t * a.blocksPerRow + u) }
        var r = rows.lowerBound
        // How far ahead to ask for the bytes of rows that end at `end`: `prefetchDistance`, less near the
        // chunk's end, so that no request reaches past it, into the next chunk's rows, which the other
        // thread may take. Two threads decoded 1.03 times as fast with requests stopping at the chunk's
        // end as without; working out the distance once per row instead of bounding every request, a
        // compare and a move each, 1.06 times as fast again with one thread and 1.03 with two (paired runs
        // in one process).
        let chunkEnd = UnsafeRawPointer(w.base + rows.upperBound * w.rowBytes)
        @inline(__always) func ahead(_ end: UnsafeRawPointer) -> Int { max(0, min(prefetchDistance, chunkEnd - end)) }
        // One scale per unit and eight units (Q4_K, `F.prescaled`): each block's eight unit scales
        // times their activation scales in one multiply per row, the products `unitScale` forms one at
        // a time otherwise (1.07–1.10 times as fast, a matrix in cache). The products then go through
        // memory, 16 floats of `products` (two rows' worth): stored through `store` and each loaded
        // with a broadcast through `load`, which the compiler cannot prove is the same address. From a
        // register it extracted every lane with shuffles and multiplied it again as a scalar (32 scalar
        // multiplies and about as many shuffles per block and pair of rows).
        // One token: two rows at a time, so two chains of FMAs are in flight.
        // The rows stream from memory: each 64-byte line is asked for once, `prefetchDistance` bytes
        // ahead of the pair's position in the chunk (`LineRequests`, as the 512-bit kernels do). Against
        // asking per block and row, for both rows, `ahead` bytes ahead, this decoded the default model
        // 1.13 times as fast with two threads and 0.99 times with one (these kernels on a Zen 5, eleven
        // paired runs in one process each).
        @inline(__always) func oneToken(products: (store: UnsafeMutablePointer<Float>, load: UnsafePointer<Float>)?) {
            var requests = LineRequests(start: UnsafeRawPointer(w.base + r * w.rowBytes), end: chunkEnd,
                                        distance: prefetchDistance)
            while a.tokens == 1, r + 2 <= rows.upperBound {
                let first = w.base + r * w.rowBytes, second = first + w.rowBytes
                var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), mins0 = SIMD8<Float>(), mins1 = SIMD8<Float>()
                // Both rows' unit-block `b` (formats with one unit per block).
                @inline(__always) func addSmallBlock(_ b: Int) {
                    let block0 = first + b * F.blockBytes, block1 = second + b * F.blockBytes
                    let x = values(0, b), scale = dxVector(0, b), header0 = F.header(block0), header1 = F.header(block1)
                    accumulate(format, &acc0, F.unit(block0, 0), x, header0, 0, dx: scale)
                    accumulate(format, &acc1, F.unit(block1, 0), x, header1, 0, dx: scale)
                    if F.hasMins {
                        F.offsets(header0, dx: dx(0, b), sums: sums(0, b), &mins0)
                        F.offsets(header1, dx: dx(0, b), sums: sums(0, b), &mins1)
                    }
                }
                // Blocks of one unit (Q8_0's 34 bytes, Q5_0's 22, ...) go two at a time, which halves
                // the loop's and the requests' bookkeeping per block: Q8_0's product in the caches ran
                // 1.13 times as fast (36–38 against 42–43 GB/s, one thread, Zen 5).
                if F.unitsPerBlock == 1 {
                    var b = 0
                    while b + 2 <= blocks {
                        requests.ask(readingAt: UnsafeRawPointer(first) + 2 * (b + 2) * F.blockBytes)
                        addSmallBlock(b)
                        addSmallBlock(b + 1)
                        b += 2
                    }
                    if b < blocks { addSmallBlock(b) }
                } else {
                    for b in 0..<blocks {
                        let block0 = first + b * F.blockBytes, block1 = second + b * F.blockBytes, u = b * F.unitsPerBlock
                        requests.ask(readingAt: UnsafeRawPointer(first) + 2 * (b + 1) * F.blockBytes)
                        let header0 = F.header(block0), header1 = F.header(block1)
                        F.offsets(header0, dx: dx(0, u), sums: sums(0, u), &mins0)
                        F.offsets(header1, dx: dx(0, u), sums: sums(0, u), &mins1)
                        if F.prescaled {
                            let dx8 = UnsafeRawPointer(dx(0, u)).loadUnaligned(as: SIMD8<Float>.self)
                            let store = UnsafeMutableRawPointer(products.unsafelyUnwrapped.store)
                            store.storeBytes(of: F.unitScales(header0) * dx8, as: SIMD8<Float>.self)
                            store.storeBytes(of: F.unitScales(header1) * dx8, toByteOffset: 32, as: SIMD8<Float>.self)
                        }
                        // Unit k's scale for the row whose products start at `load` (prescaled) or whose
                        // header is `header` (the others).
                        @inline(__always) func scale(_ header: F.Header, _ row: Int, _ k: Int) -> SIMD8<Float> {
                            F.prescaled ? SIMD8(repeating: products.unsafelyUnwrapped.load[8 * row + k])
                                      : unitScale(format, header, k, dx: dxVector(0, u + k))
                        }
                        // Units 2p and 2p + 1 of both rows. The blocks of eight units go through their four
                        // pairs written out: with the pair as a loop variable the compiler read each unit's
                        // scale back from a copy of the header on the stack (Q6_K measured 1.12–1.21 times as
                        // fast unrolled, a matrix in cache; Q4_K unchanged).
                        @inline(__always) func pair(_ p: Int) {
                            let (even0, odd0) = F.units(block0, pair: p), (even1, odd1) = F.units(block1, pair: p)
                            let k = 2 * p, x = values(0, u + k)
                            accumulate(&acc0, even0, x, scale: scale(header0, 0, k))
                            accumulate(&acc1, even1, x, scale: scale(header1, 1, k))
                            accumulate(&acc0, odd0, x + 64, scale: scale(header0, 0, k + 1))
                            accumulate(&acc1, odd1, x + 64, scale: scale(header1, 1, k + 1))
                        }
                        if F.unitsPerBlock == 8 {
                            pair(0); pair(1); pair(2); pair(3)
                        } else {
                            for p in 0..<F.unitsPerBlock / 2 { pair(p) }
                        }
                    }
                }
                out[r] = laneTreeSum(acc0) - laneTreeSum(mins0)
                out[r + 1] = laneTreeSum(acc1) - laneTreeSum(mins1)
                r += 2
            }
        }
        if F.prescaled && a.tokens == 1 {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { products in
                let base = products.baseAddress!
                oneToken(products: (phoenix_opaque_floats(base), UnsafePointer(phoenix_opaque_floats(base))))
            }
        } else {
            oneToken(products: nil)
        }
        // Otherwise a row at a time, its units widened once for up to eight tokens (four for Q4_K, whose
        // offsets would need eight more registers). The eight- and four-token loops are written out: one
        // loop with a second group of four behind a flag measured slower at eight tokens (its 8-token
        // time was about twice its 4-token time, against 1.7 times here).
        while r < rows.upperBound {
            let row = w.base + r * w.rowBytes, rowAhead = ahead(UnsafeRawPointer(row + w.rowBytes))
            var t = 0
            while !F.hasMins, t + 8 <= a.tokens {
                var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                           SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                for b in 0..<blocks {
                    let block = row + b * F.blockBytes, header = F.header(block), u = b * F.unitsPerBlock
                    prefetchAhead(format, block, rowAhead)
                    @inline(__always) func addUnit(_ k: Int, _ weights: Int16Unit) {
                        @inline(__always) func add(_ acc: inout SIMD8<Float>, _ token: Int) {
                            accumulate(format, &acc, weights, values(token, u + k), header, k, dx: dxVector(token, u + k))
                        }
                        add(&acc.0, t); add(&acc.1, t + 1); add(&acc.2, t + 2); add(&acc.3, t + 3)
                        add(&acc.4, t + 4); add(&acc.5, t + 5); add(&acc.6, t + 6); add(&acc.7, t + 7)
                    }
                    forEachUnit(format, block, addUnit)
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
                var mins = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                for b in 0..<blocks {
                    let block = row + b * F.blockBytes, header = F.header(block), u = b * F.unitsPerBlock
                    prefetchAhead(format, block, rowAhead)
                    F.offsets(header, dx: dx(t, u), sums: sums(t, u), &mins.0)
                    F.offsets(header, dx: dx(t + 1, u), sums: sums(t + 1, u), &mins.1)
                    F.offsets(header, dx: dx(t + 2, u), sums: sums(t + 2, u), &mins.2)
                    F.offsets(header, dx: dx(t + 3, u), sums: sums(t + 3, u), &mins.3)
                    @inline(__always) func addUnit(_ k: Int, _ weights: Int16Unit) {
                        @inline(__always) func add(_ acc: inout SIMD8<Float>, _ token: Int) {
                            accumulate(format, &acc, weights, values(token, u + k), header, k, dx: dxVector(token, u + k))
                        }
                        add(&acc.0, t); add(&acc.1, t + 1); add(&acc.2, t + 2); add(&acc.3, t + 3)
                    }
                    forEachUnit(format, block, addUnit)
                }
                out[t * stride + r] = laneTreeSum(acc.0) - laneTreeSum(mins.0)
                out[(t + 1) * stride + r] = laneTreeSum(acc.1) - laneTreeSum(mins.1)
                out[(t + 2) * stride + r] = laneTreeSum(acc.2) - laneTreeSum(mins.2)
                out[(t + 3) * stride + r] = laneTreeSum(acc.3) - laneTreeSum(mins.3)
                t += 4
            }
            while t < a.tokens {
                var acc = SIMD8<Float>(), mins = SIMD8<Float>()
                for b in 0..<blocks {
                    let block = row + b * F.blockBytes, header = F.header(block), u = b * F.unitsPerBlock
                    F.offsets(header, dx: dx(t, u), sums: sums(t, u), &mins)
                    @inline(__always) func addUnit(_ k: Int, _ weights: Int16Unit) {
                        accumulate(format, &acc, weights, values(t, u + k), header, k, dx: dxVector(t, u + k))
                    }
                    forEachUnit(format, block, addUnit)
                }
                out[t * stride + r] = laneTreeSum(acc) - laneTreeSum(mins)
                t += 1
            }
            r += 1
        }
    }
}

/// Q8_0: 34-byte blocks of 32: fp16 d, then 32 signed codes; w = d · q.
///
/// Widening the codes to 16 bits in position order took two shuffles per block and converting d two
/// more, besides the broadcast of d · dx; on Intel cores they all queue for one port, which limited
/// the kernel more than memory did. Here the codes split into even and odd positions by shifts within
/// each 16-bit lane, and d comes from a table as a load, which leaves the broadcast. Measured here:
/// 1.4–2.0 times the rate with the matrix in cache, and about 1.15 times the decoding speed of the
/// default model, whose output matrix is Q8_0.
enum Int16Q8_0: Int16ScaledFormat {
    static var blockBytes: Int { 34 }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        // Lane j holds code 2j in its low byte and code 2j + 1 in its high byte; arithmetic shifts
        // sign-extend either.
        return Int16Unit(signedBytes: Kernels.load256(block + 2))
    }
}

/// Q8_K: 292-byte blocks of 256: float32 d, 256 signed codes (eight units as Q8_0's), then sums of
/// each 16 codes that these kernels do not need; w = d · q.
enum Int16Q8_K: Int16EightScalesFormat {
    static var blockBytes: Int { 292 }

    /// d, the scale of all eight units.
    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> SIMD8<Float> {
        SIMD8(repeating: Float(bitPattern: UInt32(littleEndian: block.loadUnaligned(as: UInt32.self))))
    }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        Int16Unit(signedBytes: Kernels.load256(block + 4 + 32 * k))
    }
}

/// Q5_0: 22-byte blocks of 32: fp16 d, 32 high bits, 16 bytes of nibbles (low ones weights 0..<16,
/// high ones 16..<32); w = d · (q − 16).
///
/// The codes are built as 32 bytes in position order with one shuffle (for the high bits) and split
/// into even and odd positions by shifts, and d comes from a table, as for Q8_0: widening the bytes
/// to 16-bit lanes in position order, joining the nibble halves and converting d took six more
/// shuffles per block, on the one port (on Intel cores) that runs them. Measured here with the matrix
/// in cache: 1.14–1.19 times the rate.
enum Int16Q5_0: Int16ScaledFormat {
    static var blockBytes: Int { 22 }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        let codes = Kernels.nibbleBytes(block + 6), set = Kernels.fifthBitBytes(block + 2)
        // code − 16 = nibble + (high bit set ? 0 : −16), in signed bytes; then lane j's low byte (position
        // 2j) and high byte (2j + 1), sign-extended by arithmetic shifts.
        return Int16Unit(signedBytes: _mm256_add_epi8(codes, _mm256_andnot_si256(set, _mm256_set1_epi8(-16))))
    }
}

/// Q4_1: 20-byte blocks of 32: fp16 d and m, then 16 bytes of nibbles as Q4_0's; w = d · q + m.
enum Int16Q4_1: Int16ScaledWithMinFormat {
    static var blockBytes: Int { 20 }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        Int16Unit(signedBytes: Kernels.nibbleBytes(block + 4))  // 0...15: positive as signed bytes
    }
}

/// Q5_1: 24-byte blocks of 32: fp16 d and m, 32 fifth bits as Q5_0's, then 16 bytes of nibbles;
/// w = d · q + m.
enum Int16Q5_1: Int16ScaledWithMinFormat {
    static var blockBytes: Int { 24 }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        let codes = Kernels.nibbleBytes(block + 8), set = Kernels.fifthBitBytes(block + 4)
        return Int16Unit(signedBytes: _mm256_or_si256(codes, _mm256_and_si256(set, _mm256_set1_epi8(16))))  // 0...31
    }
}

/// Q4_0: 18-byte blocks of 32: fp16 d, then 16 bytes of nibbles (low ones weights 0..<16, high ones
/// 16..<32); w = d · (q − 8). Q5_0 without its high bits.
enum Int16Q4_0: Int16ScaledFormat {
    static var blockBytes: Int { 18 }

    @inline(__always)
    static func unit(_ block: UnsafeRawPointer, _ k: Int) -> Int16Unit {
        Int16Unit(signedBytes: _mm256_add_epi8(Kernels.nibbleBytes(block + 2), _mm256_set1_epi8(-8)))
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

    /// The units' scales d·scale and offsets dmin·min (`BlockQ4_K.packedScalesAndMins`).
    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> (scales: SIMD8<Float>, mins: SIMD8<Float>) {
        let (scales, mins) = BlockQ4_K.packedScalesAndMins(block)
        return (Kernels.half(block, 0) * floats(scales), Kernels.half(block, 2) * floats(mins))
    }

    /// The eight bytes of `bytes` as floats.
    @inline(__always)
    static func floats(_ bytes: UInt64) -> SIMD8<Float> {
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: bytes))))
    }

    /// Both units of bytes 32p..<32p+32, at even and odd positions: 16-bit lane j holds byte 2j's two
    /// nibbles in its bits 0..<8 and byte 2j + 1's in bits 8..<16, so each unit's codes come out by a
    /// shift and a mask, where widening the bytes in position order took two shuffles.
    @inline(__always)
    static func units(_ block: UnsafeRawPointer, pair p: Int) -> (Int16Unit, Int16Unit) {
        let codes = Kernels.load256(block + 16 + 32 * p), nibble = _mm256_set1_epi16(0x0F)
        return (Int16Unit(low: _mm256_and_si256(codes, nibble), high: _mm256_and_si256(_mm256_srli_epi16(codes, 8), nibble)),
                Int16Unit(low: _mm256_and_si256(_mm256_srli_epi16(codes, 4), nibble), high: _mm256_srli_epi16(codes, 12)))
    }

    @inline(__always)
    static func scales(_ header: (scales: SIMD8<Float>, mins: SIMD8<Float>), _ k: Int) -> (Float, Float) {
        (header.scales[k], header.scales[k])
    }

    @inline(__always)
    static func unitMin(_ header: (scales: SIMD8<Float>, mins: SIMD8<Float>), _ k: Int) -> Float { header.mins[k] }

    @inline(__always)
    static func unitScales(_ header: (scales: SIMD8<Float>, mins: SIMD8<Float>)) -> SIMD8<Float> { header.scales }

    /// acc[g] += Float(Σq of unit g) · (dmin·min[g] · dx[g]), for the block's eight units at once.
    @inline(__always)
    static func offsets(_ header: (scales: SIMD8<Float>, mins: SIMD8<Float>), dx: UnsafePointer<Float>,
                        sums: Int16BlockSums, _ acc: inout SIMD8<Float>) {
        let scales = UnsafeRawPointer(dx).loadUnaligned(as: SIMD8<Float>.self)
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Kernels.load256(sums.whole)), header.mins * scales, acc)
    }
}

/// Q5_K: 176-byte super-blocks of 256: fp16 d and dmin and 12 bytes of scales and mins, all as Q4_K's,
/// 32 bytes of fifth bits (bit g of byte l belongs to unit g's code l), then 128 bytes of nibbles laid
/// out as Q4_K's; w = d·scale·q − dmin·min.
enum Int16Q5_K: Int16Format {
    typealias Header = (scales: SIMD8<Float>, mins: SIMD8<Float>)
    static var blockBytes: Int { 176 }
    static var unitsPerBlock: Int { 8 }
    static var splitScales: Bool { false }
    static var hasMins: Bool { true }

    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> Header { Int16Q4_K.header(block) }

    /// Q4_K's two units of the nibble bytes 48 + 32p..<80 + 32p, each code with its fifth bit. In 16-bit
    /// lanes of the fifth-bit bytes, lane j holds byte 2j in bits 0..<8 and byte 2j + 1 in 8..<16, so unit
    /// k's bit is lane bit k at even positions and k + 8 at odd ones: a shift to bit 4 and a mask away.
    @inline(__always)
    static func units(_ block: UnsafeRawPointer, pair p: Int) -> (Int16Unit, Int16Unit) {
        let (even, odd) = Int16Q4_K.units(block + 32, pair: p)
        let fifths = Kernels.load256(block + 16), sixteen = _mm256_set1_epi16(16)
        @inline(__always) func fifth(_ bit: Int) -> __m256i {  // lane bit `bit`, as 16 or 0
            let moved = bit >= 4 ? _mm256_srli_epi16(fifths, Int32(bit - 4)) : _mm256_slli_epi16(fifths, Int32(4 - bit))
            return _mm256_and_si256(moved, sixteen)
        }
        let k = 2 * p
        return (Int16Unit(low: _mm256_or_si256(even.low, fifth(k)), high: _mm256_or_si256(even.high, fifth(k + 8))),
                Int16Unit(low: _mm256_or_si256(odd.low, fifth(k + 1)), high: _mm256_or_si256(odd.high, fifth(k + 9))))
    }

    @inline(__always)
    static func scales(_ header: Header, _ k: Int) -> (Float, Float) { Int16Q4_K.scales(header, k) }

    @inline(__always)
    static func unitMin(_ header: Header, _ k: Int) -> Float { Int16Q4_K.unitMin(header, k) }

    @inline(__always)
    static func unitScales(_ header: Header) -> SIMD8<Float> { Int16Q4_K.unitScales(header) }

    @inline(__always)
    static func offsets(_ header: Header, dx: UnsafePointer<Float>, sums: Int16BlockSums, _ acc: inout SIMD8<Float>) {
        Int16Q4_K.offsets(header, dx: dx, sums: sums, &acc)
    }
}

/// Q6_K: 210-byte super-blocks of 256: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8
/// scales (one per 16 weights), fp16 d; weight 128h + 32t + l has w = d·scale·(q − 32).
enum Int16Q6_K: Int16SixteenScalesFormat {
    static var blockBytes: Int { 210 }

    /// d times each of the 16 scales (scale 2k and 2k + 1 are unit k's halves).
    @inline(__always)
    static func header(_ block: UnsafeRawPointer) -> SIMD16<Float> {
        let d = Kernels.half(block, 208), scales = Kernels.load128(block + 192)
        return SIMD16(lowHalf: d * _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(scales)),
                      highHalf: d * _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(scales, scales))))
    }

    /// Units 4h + t for t = 2(p mod 2) and the next, h = p / 2, at even and odd positions. Unit t's
    /// code l is a nibble of byte 64h + 32(t mod 2) + l (the low one for t < 2) and bits 2t..<2t+2 of
    /// byte 128 + 32h + l. In 16-bit lanes of those bytes, lane j holds position 2j in bits 0..<8 and
    /// 2j + 1 in bits 8..<16, so every piece is a shift and a mask away, with no widening shuffle.
    @inline(__always)
    static func units(_ block: UnsafeRawPointer, pair p: Int) -> (Int16Unit, Int16Unit) {
        let h = p / 2, upper = p % 2 == 1
        let first = Kernels.load256(block + 64 * h), second = Kernels.load256(block + 64 * h + 32)
        let highs = Kernels.load256(block + 128 + 32 * h)
        let nibble = _mm256_set1_epi16(0x0F), bits45 = _mm256_set1_epi16(0x30), offset = _mm256_set1_epi16(32)
        @inline(__always) func right(_ v: __m256i, _ n: Int32) -> __m256i { _mm256_srli_epi16(v, n) }
        @inline(__always) func code(_ nibbles: __m256i, _ high: __m256i) -> __m256i {
            _mm256_sub_epi16(_mm256_or_si256(nibbles, _mm256_and_si256(high, bits45)), offset)
        }
        if upper {  // t = 2, 3: high nibbles; high bits 4..<6 and 6..<8 (12..<14 and 14..<16 for odd positions)
            return (Int16Unit(low: code(_mm256_and_si256(right(first, 4), nibble), highs),
                              high: code(right(first, 12), right(highs, 8))),
                    Int16Unit(low: code(_mm256_and_si256(right(second, 4), nibble), right(highs, 2)),
                              high: code(right(second, 12), right(highs, 10))))
        } else {    // t = 0, 1: low nibbles; high bits 0..<2 and 2..<4 (8..<10 and 10..<12 for odd positions)
            return (Int16Unit(low: code(_mm256_and_si256(first, nibble), _mm256_slli_epi16(highs, 4)),
                              high: code(_mm256_and_si256(right(first, 8), nibble), right(highs, 4))),
                    Int16Unit(low: code(_mm256_and_si256(second, nibble), _mm256_slli_epi16(highs, 2)),
                              high: code(_mm256_and_si256(right(second, 8), nibble), right(highs, 6))))
        }
    }
}
#endif
