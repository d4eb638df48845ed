import PhoenixQuant

/// Dot products straight from quantized rows, for decoding: the weights are read once and never
/// written back as floats. Q8_0, Q5_0, Q4_K and Q6_K (every format of the default model) have a fused
/// form; `fusedDot` returns nil for the others.
///
/// Each format is read in units of 32 weights: `weights` expands a unit into exactly the floats the
/// dequantizer writes (the dequantizer is built from it), and `accumulate` adds their products with
/// one token's activations in column order into one accumulator. That is the GEMM's order too, so the
/// one-token kernel, the many-token kernel and the GEMM give every output the same bits: which kernel
/// runs is a matter of speed only, and a token's result never depends on what else is in the batch.
@usableFromInline
protocol FusedFormat {
    static var blockBytes: Int { get }
    static var unitsPerBlock: Int { get }
    /// Weights 32·unit..<32·unit+32 of the block, as floats, in column order.
    static func weights(_ block: UnsafeRawPointer, unit: Int) -> Kernels.Weights32
}

extension Kernels {
    /// Whether `fusedDot` handles `type`.
    @inlinable
    public static func hasFusedDot(_ type: QuantType) -> Bool {
        type == .q8_0 || type == .q5_0 || type == .q4_K || type == .q6_K
    }

    @inlinable
    public static func fusedDot(_ type: QuantType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float? {
        switch type {
        case .q8_0: fusedDot(FusedQ8_0.self, row, x, count: count)
        case .q5_0: fusedDot(FusedQ5_0.self, row, x, count: count)
        case .q4_K: fusedDot(FusedQ4_K.self, row, x, count: count)
        case .q6_K: fusedDot(FusedQ6_K.self, row, x, count: count)
        default: nil
        }
    }

    /// out[t · outStride] = fusedDot(row, x + t · xStride) for `tokens` tokens, bit for bit, reading each
    /// unit of the row once per four tokens. Returns false for formats without a fused form.
    @inlinable
    public static func fusedDots(_ type: QuantType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, xStride: Int,
                                 tokens: Int, count: Int, into out: UnsafeMutablePointer<Float>, outStride: Int) -> Bool {
        switch type {
        case .q8_0: fusedDots(FusedQ8_0.self, row, x, xStride: xStride, tokens: tokens, count: count, out, outStride)
        case .q5_0: fusedDots(FusedQ5_0.self, row, x, xStride: xStride, tokens: tokens, count: count, out, outStride)
        case .q4_K: fusedDots(FusedQ4_K.self, row, x, xStride: xStride, tokens: tokens, count: count, out, outStride)
        case .q6_K: fusedDots(FusedQ6_K.self, row, x, xStride: xStride, tokens: tokens, count: count, out, outStride)
        default: return false
        }
        return true
    }

    @inlinable @inline(__always)
    static func fusedDot<F: FusedFormat>(_ format: F.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>,
                                         count: Int) -> Float {
        var acc = SIMD8<Float>()
        for u in 0..<count / 32 {
            let unit = F.weights(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
            accumulate(&acc, unit, x + 32 * u)
        }
        return acc.sum()
    }

    @inlinable @inline(__always)
    static func fusedDots<F: FusedFormat>(_ format: F.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>,
                                          xStride: Int, tokens: Int, count: Int,
                                          _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
        // Eight tokens at a time, then four, two, one: every token runs the same `accumulate` calls, and
        // each unit's decode is shared by as many tokens as registers allow.
        var t = 0
        while t + 8 <= tokens {
            var a = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                     SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            let x0 = x + t * xStride
            for u in 0..<count / 32 {
                let unit = F.weights(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
                let xu = x0 + 32 * u
                accumulate(&a.0, unit, xu)
                accumulate(&a.1, unit, xu + xStride)
                accumulate(&a.2, unit, xu + 2 * xStride)
                accumulate(&a.3, unit, xu + 3 * xStride)
                accumulate(&a.4, unit, xu + 4 * xStride)
                accumulate(&a.5, unit, xu + 5 * xStride)
                accumulate(&a.6, unit, xu + 6 * xStride)
                accumulate(&a.7, unit, xu + 7 * xStride)
            }
            out[t * outStride] = a.0.sum()
            out[(t + 1) * outStride] = a.1.sum()
            out[(t + 2) * outStride] = a.2.sum()
            out[(t + 3) * outStride] = a.3.sum()
            out[(t + 4) * outStride] = a.4.sum()
            out[(t + 5) * outStride] = a.5.sum()
            out[(t + 6) * outStride] = a.6.sum()
            out[(t + 7) * outStride] = a.7.sum()
            t += 8
        }
        if t + 4 <= tokens {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            let x0 = x + t * xStride, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride
            for u in 0..<count / 32 {
                let unit = F.weights(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
                accumulate(&a0, unit, x0 + 32 * u)
                accumulate(&a1, unit, x1 + 32 * u)
                accumulate(&a2, unit, x2 + 32 * u)
                accumulate(&a3, unit, x3 + 32 * u)
            }
            out[t * outStride] = a0.sum()
            out[(t + 1) * outStride] = a1.sum()
            out[(t + 2) * outStride] = a2.sum()
            out[(t + 3) * outStride] = a3.sum()
            t += 4
        }
        if t + 2 <= tokens {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
            let x0 = x + t * xStride, x1 = x0 + xStride
            for u in 0..<count / 32 {
                let unit = F.weights(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
                accumulate(&a0, unit, x0 + 32 * u)
                accumulate(&a1, unit, x1 + 32 * u)
            }
            out[t * outStride] = a0.sum()
            out[(t + 1) * outStride] = a1.sum()
            t += 2
        }
        if t < tokens {
            out[t * outStride] = fusedDot(format, row, x + t * xStride, count: count)
        }
    }

    /// out[i] = fusedDot(rows[i], x) for four rows `rowBytes` apart and one token: four independent
    /// accumulators, so the adds of one row do not wait for each other as a lone row's would.
    @inlinable
    public static func fusedDots4Rows(_ type: QuantType, _ rows: UnsafeRawPointer, rowBytes: Int, _ x: UnsafePointer<Float>,
                                      count: Int, into out: UnsafeMutablePointer<Float>) -> Bool {
        switch type {
        case .q8_0: fusedDots4Rows(FusedQ8_0.self, rows, rowBytes, x, count, out)
        case .q5_0: fusedDots4Rows(FusedQ5_0.self, rows, rowBytes, x, count, out)
        case .q4_K: fusedDots4Rows(FusedQ4_K.self, rows, rowBytes, x, count, out)
        case .q6_K: fusedDots4Rows(FusedQ6_K.self, rows, rowBytes, x, count, out)
        default: return false
        }
        return true
    }

    @inlinable @inline(__always)
    static func fusedDots4Rows<F: FusedFormat>(_ format: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int,
                                               _ x: UnsafePointer<Float>, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        // Two rows at a time: four would need more than AVX2's 16 vector registers for their weights.
        for pair in 0..<2 {
            let first = rows + 2 * pair * rowBytes, second = first + rowBytes
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
            for u in 0..<count / 32 {
                let offset = F.blockBytes * (u / F.unitsPerBlock), unit = u % F.unitsPerBlock, xu = x + 32 * u
                accumulate(&a0, F.weights(first + offset, unit: unit), xu)
                accumulate(&a1, F.weights(second + offset, unit: unit), xu)
            }
            out[2 * pair] = a0.sum()
            out[2 * pair + 1] = a1.sum()
        }
    }

    @inlinable @inline(__always)
    static func load8(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    @usableFromInline typealias Weights32 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// acc += w · x[0..<32], eight columns at a time in order (as the GEMM's microkernels do).
    @inlinable @inline(__always)
    static func accumulate(_ acc: inout SIMD8<Float>, _ w: Weights32, _ x: UnsafePointer<Float>) {
        acc.addProduct(w.0, load8(x, 0))
        acc.addProduct(w.1, load8(x, 8))
        acc.addProduct(w.2, load8(x, 16))
        acc.addProduct(w.3, load8(x, 24))
    }

    /// Whole blocks expanded to floats, unit by unit.
    @inlinable
    static func dequantize<F: FusedFormat>(_ format: F.Type, _ src: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>,
                                           blocks: Int) {
        for u in 0..<blocks * F.unitsPerBlock {
            let w = F.weights(src + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
            let out = y + 32 * u
            store(w.0, out)
            store(w.1, out + 8)
            store(w.2, out + 16)
            store(w.3, out + 24)
        }
    }
}

/// Q8_0: one unit per 34-byte block (fp16 d, then 32 int8 codes); w = q · d.
@usableFromInline
enum FusedQ8_0: FusedFormat {
    @inlinable static var blockBytes: Int { 34 }
    @inlinable static var unitsPerBlock: Int { 1 }

    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, unit: Int) -> Kernels.Weights32 {
        let d = SIMD8<Float>(repeating: Kernels.half(block, 0))
        return (Kernels.float(Kernels.signedBytes8(block, 2)) * d, Kernels.float(Kernels.signedBytes8(block, 10)) * d,
                Kernels.float(Kernels.signedBytes8(block, 18)) * d, Kernels.float(Kernels.signedBytes8(block, 26)) * d)
    }
}

/// Q5_0: one unit per 22-byte block (fp16 d, 32 high bits, 16 bytes of nibbles: low ones weights 0..<16,
/// high ones 16..<32); w = d · (q − 16).
@usableFromInline
enum FusedQ5_0: FusedFormat {
    @inlinable static var blockBytes: Int { 22 }
    @inlinable static var unitsPerBlock: Int { 1 }

    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, unit: Int) -> Kernels.Weights32 {
        let d = SIMD8<Float>(repeating: Kernels.half(block, 0))
        let (low0, top0) = Kernels.q5_0Codes(block, lanes: 0), (low1, top1) = Kernels.q5_0Codes(block, lanes: 1)
        return (d * low0, d * low1, d * top0, d * top1)
    }
}

/// Q4_K: 144-byte super-blocks of 256: fp16 d and dmin, 12 bytes of packed 6-bit scales and mins for 8
/// groups of 32 (the units), then 128 bytes of nibbles (group 2c in the low nibbles of bytes 32c..<32c+32,
/// group 2c+1 in the high ones); w = d·scale·q − dmin·min.
@usableFromInline
enum FusedQ4_K: FusedFormat {
    @inlinable static var blockBytes: Int { 144 }
    @inlinable static var unitsPerBlock: Int { 8 }

    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, unit g: Int) -> Kernels.Weights32 {
        let d = Kernels.half(block, 0), dmin = Kernels.half(block, 2)
        let (sc, m) = Kernels.scaleMinK4(block + 4, g)
        let groupD = SIMD8<Float>(repeating: d * Float(sc)), groupM = SIMD8<Float>(repeating: dmin * Float(m))
        let codes = block + 16
        return (groupD * Kernels.q4KCodes(codes, group: g, lanes: 0) - groupM,
                groupD * Kernels.q4KCodes(codes, group: g, lanes: 1) - groupM,
                groupD * Kernels.q4KCodes(codes, group: g, lanes: 2) - groupM,
                groupD * Kernels.q4KCodes(codes, group: g, lanes: 3) - groupM)
    }
}

/// Q6_K: 210-byte super-blocks of 256: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales
/// (groups of 16, two per unit of 32), fp16 d; w = (d·scale) · (q − 32).
@usableFromInline
enum FusedQ6_K: FusedFormat {
    @inlinable static var blockBytes: Int { 210 }
    @inlinable static var unitsPerBlock: Int { 8 }

    @inlinable @inline(__always)
    static func weights(_ block: UnsafeRawPointer, unit: Int) -> Kernels.Weights32 {
        let (h, t) = (unit / 4, unit % 4)
        let ql = block, qh = block + 128, scales = block + 192
        let d = Kernels.half(block, 208)
        @inline(__always) func scaled(_ l: Int) -> SIMD8<Float> {
            let dl = d * Float(scales.load(fromByteOffset: (128 * h + 32 * t + l) / 16, as: Int8.self))
            return SIMD8<Float>(repeating: dl) * Kernels.q6KCodes(ql, qh, h: h, t: t, l: l)
        }
        return (scaled(0), scaled(8), scaled(16), scaled(24))
    }
}
