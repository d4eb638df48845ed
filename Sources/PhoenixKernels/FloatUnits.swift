import PhoenixQuant

/// The float expansion of the formats the default model uses, for the GEMM's weight panels and the
/// row dequantizer: each format is read in units of 32 weights, and `weights` gives a unit's floats with
/// exactly the operations of PhoenixQuant's reference dequantizer (a test checks the bits).
@usableFromInline
protocol FloatUnits {
    static var blockBytes: Int { get }
    static var unitsPerBlock: Int { get }
    /// Weights 32·unit..<32·unit+32 of the block, as floats, in column order.
    static func weights(_ block: UnsafeRawPointer, unit: Int) -> Kernels.Weights32
}

extension Kernels {
    @usableFromInline typealias Weights32 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// Whole blocks expanded to floats, unit by unit.
    @inlinable
    static func dequantize<F: FloatUnits>(_ format: F.Type, _ src: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>,
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
enum FloatQ8_0: FloatUnits {
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
enum FloatQ5_0: FloatUnits {
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
enum FloatQ4_K: FloatUnits {
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
enum FloatQ6_K: FloatUnits {
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
