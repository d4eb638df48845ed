import PhoenixQuant

/// Dot products straight from quantized rows, for decoding: the weights are read once and never
/// written back as floats. Q8_0, Q5_0, Q4_K and Q6_K (every format of the default model) have a fused
/// form; `fusedDot` returns nil for the others.
///
/// Each format is read in units of 32 weights: `decode` turns a unit's codes and scales into floats
/// once, `accumulate` adds its products with one token's activations. The one-token kernel and the
/// four-token kernel (several sequences decoding in one step) call the same two functions in the same
/// order, so a token's result has the same bits whichever kernel computed it.
@usableFromInline
protocol FusedFormat {
    associatedtype Unit
    static var blockBytes: Int { get }
    static var unitsPerBlock: Int { get }
    static func decode(_ block: UnsafeRawPointer, unit: Int) -> Unit
    /// acc += the unit's weights times x[0..<32].
    static func accumulate(_ acc: inout SIMD8<Float>, _ unit: Unit, _ x: UnsafePointer<Float>)
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
            let unit = F.decode(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
            F.accumulate(&acc, unit, x + 32 * u)
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
                let unit = F.decode(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
                let xu = x0 + 32 * u
                F.accumulate(&a.0, unit, xu)
                F.accumulate(&a.1, unit, xu + xStride)
                F.accumulate(&a.2, unit, xu + 2 * xStride)
                F.accumulate(&a.3, unit, xu + 3 * xStride)
                F.accumulate(&a.4, unit, xu + 4 * xStride)
                F.accumulate(&a.5, unit, xu + 5 * xStride)
                F.accumulate(&a.6, unit, xu + 6 * xStride)
                F.accumulate(&a.7, unit, xu + 7 * xStride)
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
                let unit = F.decode(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
                F.accumulate(&a0, unit, x0 + 32 * u)
                F.accumulate(&a1, unit, x1 + 32 * u)
                F.accumulate(&a2, unit, x2 + 32 * u)
                F.accumulate(&a3, unit, x3 + 32 * u)
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
                let unit = F.decode(row + F.blockBytes * (u / F.unitsPerBlock), unit: u % F.unitsPerBlock)
                F.accumulate(&a0, unit, x0 + 32 * u)
                F.accumulate(&a1, unit, x1 + 32 * u)
            }
            out[t * outStride] = a0.sum()
            out[(t + 1) * outStride] = a1.sum()
            t += 2
        }
        if t < tokens {
            out[t * outStride] = fusedDot(format, row, x + t * xStride, count: count)
        }
    }

    @inlinable @inline(__always)
    static func load8(_ x: UnsafePointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(x + offset).loadUnaligned(as: SIMD8<Float>.self)
    }
}

/// Q8_0: one unit per 34-byte block; Σ d · Σ q·x.
@usableFromInline
enum FusedQ8_0: FusedFormat {
    @usableFromInline typealias Unit = (codes: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), d: SIMD8<Float>)
    @inlinable static var blockBytes: Int { 34 }
    @inlinable static var unitsPerBlock: Int { 1 }

    @inlinable @inline(__always)
    static func decode(_ block: UnsafeRawPointer, unit: Int) -> Unit {
        ((Kernels.float(Kernels.signedBytes8(block, 2)), Kernels.float(Kernels.signedBytes8(block, 10)),
          Kernels.float(Kernels.signedBytes8(block, 18)), Kernels.float(Kernels.signedBytes8(block, 26))),
         SIMD8<Float>(repeating: Kernels.half(block, 0)))
    }

    @inlinable @inline(__always)
    static func accumulate(_ acc: inout SIMD8<Float>, _ unit: Unit, _ x: UnsafePointer<Float>) {
        var sum = unit.codes.0 * Kernels.load8(x, 0)
        sum.addProduct(unit.codes.1, Kernels.load8(x, 8))
        sum.addProduct(unit.codes.2, Kernels.load8(x, 16))
        sum.addProduct(unit.codes.3, Kernels.load8(x, 24))
        acc.addProduct(sum, unit.d)
    }
}

/// Q5_0: one unit per 22-byte block; Σ d · Σ (q − 16)·x.
@usableFromInline
enum FusedQ5_0: FusedFormat {
    @usableFromInline typealias Unit = (codes: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), d: SIMD8<Float>)
    @inlinable static var blockBytes: Int { 22 }
    @inlinable static var unitsPerBlock: Int { 1 }

    @inlinable @inline(__always)
    static func decode(_ block: UnsafeRawPointer, unit: Int) -> Unit {
        let (low0, top0) = Kernels.q5_0Codes(block, lanes: 0), (low1, top1) = Kernels.q5_0Codes(block, lanes: 1)
        return ((low0, top0, low1, top1), SIMD8<Float>(repeating: Kernels.half(block, 0)))
    }

    @inlinable @inline(__always)
    static func accumulate(_ acc: inout SIMD8<Float>, _ unit: Unit, _ x: UnsafePointer<Float>) {
        var sum = SIMD8<Float>()
        sum.addProduct(unit.codes.0, Kernels.load8(x, 0))   // weights 0..<8
        sum.addProduct(unit.codes.1, Kernels.load8(x, 16))  // 16..<24
        sum.addProduct(unit.codes.2, Kernels.load8(x, 8))   // 8..<16
        sum.addProduct(unit.codes.3, Kernels.load8(x, 24))  // 24..<32
        acc.addProduct(sum, unit.d)
    }
}

/// Q4_K: eight units (groups of 32) per 144-byte super-block; d·scale·Σ q·x − dmin·min·Σ x.
@usableFromInline
enum FusedQ4_K: FusedFormat {
    @usableFromInline typealias Unit = (codes: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>),
                                        scale: SIMD8<Float>, negativeMin: SIMD8<Float>)
    @inlinable static var blockBytes: Int { 144 }
    @inlinable static var unitsPerBlock: Int { 8 }

    @inlinable @inline(__always)
    static func decode(_ block: UnsafeRawPointer, unit g: Int) -> Unit {
        let d = Kernels.half(block, 0), dmin = Kernels.half(block, 2)
        let (sc, m) = Kernels.scaleMinK4(block + 4, g)
        let codes = block + 16
        return ((Kernels.q4KCodes(codes, group: g, lanes: 0), Kernels.q4KCodes(codes, group: g, lanes: 1),
                 Kernels.q4KCodes(codes, group: g, lanes: 2), Kernels.q4KCodes(codes, group: g, lanes: 3)),
                SIMD8<Float>(repeating: d * Float(sc)), SIMD8<Float>(repeating: -(dmin * Float(m))))
    }

    @inlinable @inline(__always)
    static func accumulate(_ acc: inout SIMD8<Float>, _ unit: Unit, _ x: UnsafePointer<Float>) {
        var sumQX = SIMD8<Float>(), sumX = SIMD8<Float>()
        let x0 = Kernels.load8(x, 0), x1 = Kernels.load8(x, 8), x2 = Kernels.load8(x, 16), x3 = Kernels.load8(x, 24)
        sumQX.addProduct(unit.codes.0, x0); sumX += x0
        sumQX.addProduct(unit.codes.1, x1); sumX += x1
        sumQX.addProduct(unit.codes.2, x2); sumX += x2
        sumQX.addProduct(unit.codes.3, x3); sumX += x3
        acc.addProduct(sumQX, unit.scale)
        acc.addProduct(sumX, unit.negativeMin)
    }
}

/// Q6_K: eight units of 32 per 210-byte super-block (two scales of 16 each); Σ (d·scale)·(q − 32)·x.
@usableFromInline
enum FusedQ6_K: FusedFormat {
    /// The unit's weights already multiplied by their group's d·scale.
    @usableFromInline typealias Unit = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    @inlinable static var blockBytes: Int { 210 }
    @inlinable static var unitsPerBlock: Int { 8 }

    @inlinable @inline(__always)
    static func decode(_ block: UnsafeRawPointer, unit: Int) -> Unit {
        let (h, t) = (unit / 4, unit % 4)
        let ql = block, qh = block + 128, scales = block + 192
        let d = Kernels.half(block, 208)
        @inline(__always) func scaled(_ l: Int) -> SIMD8<Float> {
            let dl = d * Float(scales.load(fromByteOffset: (128 * h + 32 * t + l) / 16, as: Int8.self))
            return Kernels.q6KCodes(ql, qh, h: h, t: t, l: l) * SIMD8<Float>(repeating: dl)
        }
        return (scaled(0), scaled(8), scaled(16), scaled(24))
    }

    @inlinable @inline(__always)
    static func accumulate(_ acc: inout SIMD8<Float>, _ unit: Unit, _ x: UnsafePointer<Float>) {
        acc.addProduct(unit.0, Kernels.load8(x, 0))
        acc.addProduct(unit.1, Kernels.load8(x, 8))
        acc.addProduct(unit.2, Kernels.load8(x, 16))
        acc.addProduct(unit.3, Kernels.load8(x, 24))
    }
}
