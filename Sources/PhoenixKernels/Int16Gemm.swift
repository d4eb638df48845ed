import PhoenixQuant
#if arch(x86_64)
import CPhoenixX86
import PhoenixKernelsAVX512
#endif

/// Prompt tokens' matrix products for every quantized format (those of `hasInt16Dot`): weights as 16-bit
/// codes times activations quantized to 16 bits exactly as for decoding (`quantizeInt16Block`), with
/// `vpmaddwd`.
///
/// The decode kernels (`int16Dots`) keep one token's products for one row in the lanes of a register,
/// so every 32-weight unit needs its own float scaling per row and token: more instructions than the
/// four float FMAs it replaces. Here the lanes hold tokens instead. Activations are laid out in groups
/// of 16 tokens (`Int16TokenGroups`): for each pair of columns, the 16 tokens' two values side by side,
/// one 32-bit lane per token. A row's code pair is broadcast to all lanes, and one `vpmaddwd` gives
/// eight tokens two products each, exact in 32-bit integers. A tile of 3 rows × 16 tokens keeps six
/// integer sums for the 16 pairs of a unit, then scales them into six float accumulators:
///
///     isum[l]  = Σ over the unit's 32 columns of code · q[token l]          exact integers
///     acc[l]   = fma(Float(isum[l]), rowScale · tokenScale[l], acc[l])      Q6_K, Q3_K: each half of 16 alone
///     acc[l]   = fma(−rowMin, tokenScale[l] · Σq[l], acc[l])                the offsets (Q4_K, Q5_K, Q4_1, Q5_1;
///                                                                          Q2_K's per half, low first)
///
/// for the units in order. A float step per unit now serves 16 tokens × 3 rows, and the 16-bit codes
/// of a panel of rows take half a float panel's cache. `Reference.int16GemmDot` computes exactly this
/// for one row and token, so the two agree to the bit, and a token's result never depends on which
/// other tokens or rows share its tile.
extension Kernels {
    /// Whether prompt tokens multiply with `type` through `int16Gemm` (else the float GEMM): the
    /// 16-bit formats, on x86-64, whose vector instructions the kernel is written with.
    @inlinable
    public static func hasInt16Gemm(_ type: QuantType) -> Bool {
        #if arch(x86_64)
        hasInt16Dot(type)
        #else
        false
        #endif
    }

    /// Rows whose codes are unpacked together into one panel per thread (24 × 2048 × 2 bytes = 96 KB at
    /// most for the default model: L2).
    @usableFromInline static let int16PanelRows = 24

    /// Prompt tokens' activations for `int16Gemm`, quantized to 16 bits in blocks of 32 like
    /// `Int16Activations` and laid out in groups of 16 tokens (the last padded with zeros).
    public struct Int16TokenGroups {
        public static let width = 16
        public let tokens: Int
        public let columns: Int
        /// [group, columns / 2, 16]: token l's values of columns 2p (low half) and 2p + 1 (high half).
        let pairs: UnsafeMutablePointer<Int32>
        /// [group, columns / 32, 16]: each block's scale.
        let scales: UnsafeMutablePointer<Float>
        /// [group, columns / 32, 16]: scale · Σq of each block (for the weights' offsets).
        let offsets: UnsafeMutablePointer<Float>
        /// The same over each block's first 16 q and its last 16 (Q2_K's offsets, one per half), when
        /// asked for: nil otherwise, which saves their memory for the matrices that do not need them.
        let lowOffsets: UnsafeMutablePointer<Float>?
        let highOffsets: UnsafeMutablePointer<Float>?

        public var groups: Int { (tokens + Self.width - 1) / Self.width }
        var units: Int { columns / 32 }

        /// `halfOffsets`: whether to keep the offsets of the blocks' halves, which Q2_K needs.
        public static func byteCount(tokens: Int, columns: Int, halfOffsets: Bool = true) -> Int {
            (tokens + width - 1) / width * width * (2 * columns + (halfOffsets ? 16 : 8) * (columns / 32))
        }

        /// Lays the arrays out in `memory` (at least `byteCount` bytes, 32-byte aligned).
        public init(tokens: Int, columns: Int, memory: UnsafeMutableRawPointer, halfOffsets: Bool = true) {
            precondition(columns % 32 == 0, "Int16TokenGroups: columns must be a multiple of 32")
            self.tokens = tokens
            self.columns = columns
            let slots = (tokens + Self.width - 1) / Self.width * Self.width
            pairs = memory.bindMemory(to: Int32.self, capacity: slots * columns / 2)
            scales = (memory + 2 * slots * columns).bindMemory(to: Float.self, capacity: slots * (columns / 32))
            let blocks = slots * (columns / 32)
            offsets = (memory + 2 * slots * columns + 4 * blocks).bindMemory(to: Float.self, capacity: blocks)
            let halves = memory + 2 * slots * columns + 8 * blocks
            lowOffsets = halfOffsets ? halves.bindMemory(to: Float.self, capacity: blocks) : nil
            highOffsets = halfOffsets ? (halves + 4 * blocks).bindMemory(to: Float.self, capacity: blocks) : nil
        }

        /// Quantizes `x`: [tokens, columns] row-major, the groups shared out over the pool.
        public func quantize(_ x: UnsafePointer<Float>, pool: ThreadPool) {
            let units = self.units, width = Self.width
            pool.parallelFor(groups) { range in
                withUnsafeTemporaryAllocation(of: Int16.self, capacity: 32) { buffer in
                    let q = buffer.baseAddress!
                    for g in range {
                        for lane in 0..<width {
                            let t = g * width + lane
                            for u in 0..<units {
                                var (scale, sum): (Float, Int32) = (0, 0)
                                if t < tokens {
                                    (scale, sum) = Kernels.quantizeInt16Block(x + t * columns + 32 * u, into: q)
                                } else {
                                    q.update(repeating: 0, count: 32)
                                }
                                let first = pairs + (g * columns / 2 + 16 * u) * width + lane
                                for p in 0..<16 {
                                    first[p * width] = Int32(UInt16(bitPattern: q[2 * p])) | Int32(q[2 * p + 1]) << 16
                                }
                                scales[(g * units + u) * width + lane] = scale
                                offsets[(g * units + u) * width + lane] = scale * Float(sum)
                                if let lowOffsets, let highOffsets {
                                    let low = (0..<16).reduce(Int32(0)) { $0 + Int32(q[$1]) }
                                    lowOffsets[(g * units + u) * width + lane] = scale * Float(low)
                                    highOffsets[(g * units + u) * width + lane] = scale * Float(sum - low)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `int16Gemm` of several matrices with the same input: the activations are quantized once.
    /// out_i[t · strides[i] + r] = row r of w_i · x[t]. Every `w_i.type` must satisfy `hasInt16Gemm`.
    static func int16Gemm(_ weights: [WeightMatrix], _ x: UnsafePointer<Float>, tokens: Int,
                          into outs: [UnsafeMutablePointer<Float>], strides: [Int], pool: ThreadPool) {
        guard let columns = weights.first?.columns, tokens > 0 else { return }
        let halves = weights.contains { $0.type == .q2_K }
        let bytes = Int16TokenGroups.byteCount(tokens: tokens, columns: columns, halfOffsets: halves)
        withUnsafeTemporaryAllocation(byteCount: bytes, alignment: 64) { memory in
            let groups = Int16TokenGroups(tokens: tokens, columns: columns, memory: memory.baseAddress!,
                                          halfOffsets: halves)
            groups.quantize(x, pool: pool)
            for (i, w) in weights.enumerated() {
                int16Gemm(w, groups, into: outs[i], stride: strides[i], pool: pool)
            }
        }
    }

    /// out[t · stride + r] = row r of `w` · token t of `a`, for every row and token.
    public static func int16Gemm(_ w: WeightMatrix, _ a: Int16TokenGroups, into out: UnsafeMutablePointer<Float>,
                                 stride: Int, pool: ThreadPool) {
        precondition(w.columns == a.columns, "int16Gemm: the activations have \(a.columns) columns, the matrix \(w.columns)")
        precondition(w.type != .q2_K || a.lowOffsets != nil, "int16Gemm: Q2_K needs the activations' half offsets")
        #if arch(x86_64)
        switch w.type {
        case .q8_0: int16Gemm(Int16Q8_0.self, w, a, out, stride, pool)
        case .q5_0: int16Gemm(Int16Q5_0.self, w, a, out, stride, pool)
        case .q4_K: int16Gemm(Int16Q4_K.self, w, a, out, stride, pool)
        case .q6_K: int16Gemm(Int16Q6_K.self, w, a, out, stride, pool)
        case .q4_0: int16Gemm(Int16Q4_0.self, w, a, out, stride, pool)
        case .q5_K: int16Gemm(Int16Q5_K.self, w, a, out, stride, pool)
        case .q4_1: int16Gemm(Int16Q4_1.self, w, a, out, stride, pool)
        case .q5_1: int16Gemm(Int16Q5_1.self, w, a, out, stride, pool)
        case .q3_K: int16Gemm(Int16Q3_K.self, w, a, out, stride, pool)
        case .q2_K: int16Gemm(Int16Q2_K.self, w, a, out, stride, pool)
        case .q8_K: int16Gemm(Int16Q8_K.self, w, a, out, stride, pool)
        case .iq4_NL: int16Gemm(Int16IQ4_NL.self, w, a, out, stride, pool)
        case .iq4_XS: int16Gemm(Int16IQ4_XS.self, w, a, out, stride, pool)
        case .mxfp4: int16Gemm(Int16MXFP4.self, w, a, out, stride, pool)
        default: preconditionFailure("int16Gemm: no 16-bit form for \(w.type)")
        }
        #else
        preconditionFailure("int16Gemm: x86-64 only (see hasInt16Gemm)")
        #endif
    }
}

#if arch(x86_64)
extension Kernels {
    /// A thread's panel: its rows' codes as 16-bit integers, [row, column]; each unit's scales (low and
    /// high half), [row, unit, 2]; each unit's offset scales (the same), [row, unit, 2]; and the results
    /// for one group of tokens, [row, token], before they go out transposed.
    struct Int16Panel {
        let codes: UnsafeMutablePointer<Int16>
        let scales: UnsafeMutablePointer<Float>
        let mins: UnsafeMutablePointer<Float>
        let results: UnsafeMutablePointer<Float>

        static func byteCount(columns: Int) -> Int {
            int16PanelRows * (2 * columns + 16 * (columns / 32) + 4 * Int16TokenGroups.width)
        }

        init(_ memory: UnsafeMutableRawPointer, columns: Int) {
            let rows = int16PanelRows, units = columns / 32
            codes = memory.bindMemory(to: Int16.self, capacity: rows * columns)
            scales = (memory + 2 * rows * columns).bindMemory(to: Float.self, capacity: rows * units * 2)
            mins = (memory + 2 * rows * columns + 8 * rows * units).bindMemory(to: Float.self, capacity: rows * units * 2)
            results = (memory + 2 * rows * columns + 16 * rows * units)
                .bindMemory(to: Float.self, capacity: rows * Int16TokenGroups.width)
        }

        /// Unpacks rows `rows` of `w` into panel rows `first`..<first + rows.count.
        @inline(__always)
        func fill<F: Int16Format>(_ format: F.Type, _ w: WeightMatrix, rows: Range<Int>, at first: Int = 0) {
            let units = w.columns / 32, blocks = units / F.unitsPerBlock
            for (k, r) in rows.enumerated() {
                let i = first + k, row = w.base + r * w.rowBytes
                for b in 0..<blocks {
                    let block = row + b * F.blockBytes, header = F.header(block)
                    Kernels.forEachUnit(format, block) { k, evenOdd in
                        let u = b * F.unitsPerBlock + k
                        store(evenOdd, row: i, unit: u, columns: w.columns)
                        let (low, high) = F.scales(header, k)
                        scales[2 * (i * units + u)] = low
                        scales[2 * (i * units + u) + 1] = high
                        if F.hasMins {
                            let (low, high) = F.unitMins(header, k)
                            mins[2 * (i * units + u)] = low
                            mins[2 * (i * units + u) + 1] = high
                        }
                    }
                }
            }
        }

        /// Panel row `i`'s unit `u`: the codes in position order.
        @inline(__always)
        func store(_ evenOdd: Int16Unit, row i: Int, unit u: Int, columns: Int) {
            let unit = evenOdd.inPositionOrder()
            let codes = UnsafeMutableRawPointer(self.codes + i * columns + 32 * u)
            _mm256_storeu_si256(codes.assumingMemoryBound(to: __m256i.self), unit.low)
            _mm256_storeu_si256((codes + 32).assumingMemoryBound(to: __m256i.self), unit.high)
        }
    }

    static func int16Gemm<F: Int16Format>(_ format: F.Type, _ w: WeightMatrix, _ a: Int16TokenGroups,
                                          _ out: UnsafeMutablePointer<Float>, _ stride: Int, _ pool: ThreadPool) {
        let panelBytes = (Int16Panel.byteCount(columns: w.columns) + 63) / 64 * 64
        withUnsafeTemporaryAllocation(byteCount: panelBytes * pool.threadCount, alignment: 64) { buffer in
            // A chunk is one panel, except with one thread, which gets all rows at once.
            pool.forEachChunk(w.rows, chunk: int16PanelRows) { thread, chunk in
                let panel = Int16Panel(buffer.baseAddress! + thread * panelBytes, columns: w.columns)
                for start in Swift.stride(from: chunk.lowerBound, to: chunk.upperBound, by: int16PanelRows) {
                    let rows = start..<min(chunk.upperBound, start + int16PanelRows)
                    if w.layout == .q5_0RowPairs {
                        panel.fillQ5_0RowPairs(w, rows: rows)
                    } else {
                        panel.fill(format, w, rows: rows)
                    }
                    let last = rows.count - 1, width = Int16TokenGroups.width
                    for g in 0..<a.groups {
                        // Three rows at a time; a short last tile repeats its last row.
                        for i in Swift.stride(from: 0, through: last, by: 3) {
                            let tile = (i, min(i + 1, last), min(i + 2, last))
                            if useWideKernels {
                                wideTile(format, panel, rows: tile, a, group: g)
                            } else {
                                int16Tile(format, panel, rows: tile, a, group: g)
                            }
                        }
                        let first = g * width
                        for t in first..<min(a.tokens, first + width) {
                            let row = out + t * stride + rows.lowerBound
                            for i in 0...last { row[i] = panel.results[i * width + t - first] }
                        }
                    }
                }
            }
        }
    }

    /// `int16Tile` in 512-bit registers (`WideKernels.int16Tile`), for CPUs with AVX-512: the same bits,
    /// with a quarter of the inner loop's vector instructions (16 tokens a register, and VNNI's multiply
    /// and add in one). On a 2-core AMD EPYC (Zen 5) the default model read prompts (pp512) 1.36 times as
    /// fast with one thread and 1.29 with two (seven paired runs in one process).
    @inline(__always)
    static func wideTile<F: Int16Format>(_ format: F.Type, _ panel: Int16Panel, rows: (Int, Int, Int),
                                         _ a: Int16TokenGroups, group g: Int) {
        let columns = a.columns, units = columns / 32, width = Int16TokenGroups.width
        @inline(__always) func codes(_ i: Int) -> UnsafeRawPointer { UnsafeRawPointer(panel.codes + i * columns) }
        @inline(__always) func scales(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(panel.scales + 2 * i * units) }
        @inline(__always) func mins(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(panel.mins + 2 * i * units) }
        @inline(__always) func results(_ i: Int) -> UnsafeMutablePointer<Float> { panel.results + i * width }
        let offsets = UnsafePointer(a.offsets + g * units * width)
        let tokens = WideTileTokens(pairs: UnsafeRawPointer(a.pairs + g * (columns / 2) * width),
                                    scales: UnsafePointer(a.scales + g * units * width), offsets: offsets,
                                    lowOffsets: a.lowOffsets.map { UnsafePointer($0 + g * units * width) } ?? offsets,
                                    highOffsets: a.highOffsets.map { UnsafePointer($0 + g * units * width) } ?? offsets)
        WideKernels.int16Tile(WideTileRows(codes: (codes(rows.0), codes(rows.1), codes(rows.2)),
                                           scales: (scales(rows.0), scales(rows.1), scales(rows.2)),
                                           mins: (mins(rows.0), mins(rows.1), mins(rows.2)),
                                           results: (results(rows.0), results(rows.1), results(rows.2))),
                              tokens, units: units, splitScales: F.splitScales, hasMins: F.hasMins, splitMins: F.splitMins)
    }

    /// Three panel rows times the 16 tokens of group `g`, into the panel's results.
    @inline(__always)
    static func int16Tile<F: Int16Format>(_ format: F.Type, _ panel: Int16Panel, rows: (Int, Int, Int),
                                          _ a: Int16TokenGroups, group g: Int) {
        let columns = a.columns, units = columns / 32, width = Int16TokenGroups.width
        let code0 = UnsafeRawPointer(panel.codes + rows.0 * columns), code1 = UnsafeRawPointer(panel.codes + rows.1 * columns)
        let code2 = UnsafeRawPointer(panel.codes + rows.2 * columns)
        let scale0 = panel.scales + 2 * rows.0 * units, scale1 = panel.scales + 2 * rows.1 * units
        let scale2 = panel.scales + 2 * rows.2 * units
        let pairs = UnsafeRawPointer(a.pairs + g * (columns / 2) * width)
        let tokenScales = a.scales + g * units * width, tokenOffsets = a.offsets + g * units * width
        // Q2_K's, whose activations keep them (`int16Gemm` checks).
        let tokenLowOffsets = F.splitMins ? a.lowOffsets! + g * units * width : tokenOffsets
        let tokenHighOffsets = F.splitMins ? a.highOffsets! + g * units * width : tokenOffsets
        var f00 = SIMD8<Float>(), f01 = SIMD8<Float>(), f10 = SIMD8<Float>(), f11 = SIMD8<Float>()
        var f20 = SIMD8<Float>(), f21 = SIMD8<Float>()
        let halves = F.splitScales ? 2 : 1, pairsPerHalf = 16 / halves
        for u in 0..<units {
            for h in 0..<halves {
                let zero = _mm256_setzero_si256()
                var i00 = zero, i01 = zero, i10 = zero, i11 = zero, i20 = zero, i21 = zero
                for p in 16 * u + pairsPerHalf * h..<16 * u + pairsPerHalf * (h + 1) {
                    let x0 = load256(pairs + 64 * p), x1 = load256(pairs + 64 * p + 32)
                    let w0 = _mm256_set1_epi32(code0.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                    i00 = _mm256_add_epi32(i00, _mm256_madd_epi16(w0, x0))
                    i01 = _mm256_add_epi32(i01, _mm256_madd_epi16(w0, x1))
                    let w1 = _mm256_set1_epi32(code1.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                    i10 = _mm256_add_epi32(i10, _mm256_madd_epi16(w1, x0))
                    i11 = _mm256_add_epi32(i11, _mm256_madd_epi16(w1, x1))
                    let w2 = _mm256_set1_epi32(code2.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                    i20 = _mm256_add_epi32(i20, _mm256_madd_epi16(w2, x0))
                    i21 = _mm256_add_epi32(i21, _mm256_madd_epi16(w2, x1))
                }
                let s = UnsafeRawPointer(tokenScales + u * width)
                let s0 = s.loadUnaligned(as: SIMD8<Float>.self), s1 = s.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                @inline(__always) func scaled(_ sum: __m256i, _ rowScale: Float, _ tokenScale: SIMD8<Float>,
                                              _ acc: SIMD8<Float>) -> SIMD8<Float> {
                    _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), SIMD8(repeating: rowScale) * tokenScale, acc)
                }
                let k = 2 * u + h
                f00 = scaled(i00, scale0[k], s0, f00); f01 = scaled(i01, scale0[k], s1, f01)
                f10 = scaled(i10, scale1[k], s0, f10); f11 = scaled(i11, scale1[k], s1, f11)
                f20 = scaled(i20, scale2[k], s0, f20); f21 = scaled(i21, scale2[k], s1, f21)
            }
            // The offsets: the unit's (its first half's and then its second's, for Q2_K).
            for h in 0..<(F.hasMins ? (F.splitMins ? 2 : 1) : 0) {
                let offsets = F.splitMins ? (h == 0 ? tokenLowOffsets : tokenHighOffsets) : tokenOffsets
                let o = UnsafeRawPointer(offsets + u * width)
                let o0 = o.loadUnaligned(as: SIMD8<Float>.self), o1 = o.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                let m0 = SIMD8<Float>(repeating: -panel.mins[2 * (rows.0 * units + u) + h])
                let m1 = SIMD8<Float>(repeating: -panel.mins[2 * (rows.1 * units + u) + h])
                let m2 = SIMD8<Float>(repeating: -panel.mins[2 * (rows.2 * units + u) + h])
                f00 = _mm256_fmadd_ps(m0, o0, f00); f01 = _mm256_fmadd_ps(m0, o1, f01)
                f10 = _mm256_fmadd_ps(m1, o0, f10); f11 = _mm256_fmadd_ps(m1, o1, f11)
                f20 = _mm256_fmadd_ps(m2, o0, f20); f21 = _mm256_fmadd_ps(m2, o1, f21)
            }
        }
        @inline(__always) func store(_ i: Int, _ low: SIMD8<Float>, _ high: SIMD8<Float>) {
            let results = UnsafeMutableRawPointer(panel.results + i * width)
            results.storeBytes(of: low, as: SIMD8<Float>.self)
            results.storeBytes(of: high, toByteOffset: 32, as: SIMD8<Float>.self)
        }
        store(rows.0, f00, f01)
        store(rows.1, f10, f11)  // a repeated row stores the same values again
        store(rows.2, f20, f21)
    }
}
#endif
