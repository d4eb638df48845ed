#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a KV cache stores keys and values. Half precision is the default, as in llama.cpp: half the
/// memory (the default model's 512-position cache: 9.4 MB instead of 18.9) and half the bytes a long
/// context's decode step reads. 32-bit floats keep every bit of the arithmetic, for comparisons with
/// references computed in float32 (llama.cpp's `--cache-type-k f32`). Attention widens halves to
/// floats as it loads them, so its arithmetic is 32-bit either way.
public enum KVPrecision: String, Sendable, CaseIterable {
    case f16, f32

    /// Bytes of one stored value.
    public var bytes: Int { self == .f16 ? 2 : 4 }
}

/// Where one sequence's keys (or values) of one layer live: positions are grouped in blocks of
/// `blockSize`, and `blockTable[p / blockSize]` says which block of the store holds position p. A
/// contiguous cache is the special case of one block as large as the context.
public struct KVBlocks {
    /// Position 0 of block 0 of the store, already offset to the kv head being read.
    public var base: UnsafeRawPointer
    public var precision: KVPrecision
    public var blockTable: UnsafePointer<Int32>
    public var blockSize: Int
    /// Values from one position to the next within a block.
    public var positionStride: Int

    public init(base: UnsafeRawPointer, precision: KVPrecision, blockTable: UnsafePointer<Int32>, blockSize: Int,
                positionStride: Int) {
        self.base = base
        self.precision = precision
        self.blockTable = blockTable
        self.blockSize = blockSize
        self.positionStride = positionStride
    }

    /// A store of halves.
    public init(base: UnsafePointer<Float16>, blockTable: UnsafePointer<Int32>, blockSize: Int, positionStride: Int) {
        self.init(base: UnsafeRawPointer(base), precision: .f16, blockTable: blockTable, blockSize: blockSize,
                  positionStride: positionStride)
    }

    /// A store of floats.
    public init(base: UnsafePointer<Float>, blockTable: UnsafePointer<Int32>, blockSize: Int, positionStride: Int) {
        self.init(base: UnsafeRawPointer(base), precision: .f32, blockTable: blockTable, blockSize: blockSize,
                  positionStride: positionStride)
    }

    /// Bytes from one position to the next within a block.
    var strideBytes: Int { positionStride * precision.bytes }

    /// Calls `body(firstPosition, rowOfFirstPosition, count)` for each run of consecutive positions in
    /// `positions` that share a block, in order: one division per block, none per position.
    @inline(__always)
    func forEachRun(_ positions: Range<Int>, _ body: (Int, UnsafeRawPointer, Int) -> Void) {
        var p = positions.lowerBound
        while p < positions.upperBound {
            let (blockIndex, offset) = p.quotientAndRemainder(dividingBy: blockSize)
            let count = min(positions.upperBound - p, blockSize - offset)
            let block = Int(blockTable[blockIndex])
            body(p, base + (block * blockSize + offset) * strideBytes, count)
            p += count
        }
    }
}

/// A stored key or value row as the attention kernels read it, one type per `KVPrecision`: the kernels
/// are written once, generic over this, and specialized for each.
protocol KVRow {
    /// Values c..<c+8 of `row`, as floats.
    static func load(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float>
    /// Value i of `row`, as a float.
    static func value(_ row: UnsafeRawPointer, _ i: Int) -> Float
}

enum HalfRow: KVRow {
    @inline(__always) static func load(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> {
        Kernels.loadHalves(row.assumingMemoryBound(to: Float16.self) + c)
    }
    @inline(__always) static func value(_ row: UnsafeRawPointer, _ i: Int) -> Float {
        Float(row.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self))
    }
}

enum FloatRow: KVRow {
    @inline(__always) static func load(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> {
        row.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
    }
    @inline(__always) static func value(_ row: UnsafeRawPointer, _ i: Int) -> Float {
        row.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
    }
}

extension Kernels {
    /// One query head attending to positions `positions` of a sequence:
    /// out = Σ_j softmax_j(scale · q·k_j) · v_j.
    ///
    /// `scores` is scratch for `positions.count` floats. The arithmetic per position does not depend on
    /// how positions are split into blocks, so a paged cache and a contiguous one give the same bits.
    public static func attend(query: UnsafePointer<Float>, keys: KVBlocks, values: KVBlocks, positions: Range<Int>,
                              headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                              into out: UnsafeMutablePointer<Float>) {
        precondition(keys.precision == values.precision, "attend: keys and values must be stored alike")
        switch keys.precision {
        case .f16: attend(HalfRow.self, query, keys, values, positions, headDim, scale, scores, out)
        case .f32: attend(FloatRow.self, query, keys, values, positions, headDim, scale, scores, out)
        }
    }

    @inline(__always)
    static func attend<Row: KVRow>(_: Row.Type, _ query: UnsafePointer<Float>, _ keys: KVBlocks, _ values: KVBlocks,
                                   _ positions: Range<Int>, _ headDim: Int, _ scale: Float,
                                   _ scores: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        var maximum = -Float.infinity
        let first = positions.lowerBound
        keys.forEachRun(positions) { start, row, count in
            for i in 0..<count {
                let s = Row.dot(query, row + i * keys.strideBytes, count: headDim) * scale
                scores[start - first + i] = s
                maximum = max(maximum, s)
            }
        }
        let total = exponentiate(scores, count: positions.count, subtracting: maximum)
        out.update(repeating: 0, count: headDim)
        let inverse = 1 / total
        values.forEachRun(positions) { start, row, count in
            for i in 0..<count {
                Row.addScaled(row + i * values.strideBytes, scale: scores[start - first + i] * inverse, into: out, count: headDim)
            }
        }
    }

    /// scores[j] = exp(scores[j] - maximum), returning their sum.
    @inline(__always)
    static func exponentiate(_ scores: UnsafeMutablePointer<Float>, count: Int, subtracting maximum: Float) -> Float {
        var j = 0
        let raw = UnsafeMutableRawPointer(scores), vmax = SIMD8<Float>(repeating: maximum)
        var sums = SIMD8<Float>()
        while j + 8 <= count {
            let e = exp(raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - vmax)
            raw.storeBytes(of: e, toByteOffset: 4 * j, as: SIMD8<Float>.self)
            sums += e
            j += 8
        }
        var total = sums.sum()
        while j < count {  // tail: fewer than 8 left
            let e = expf(scores[j] - maximum)
            scores[j] = e
            total += e
            j += 1
        }
        return total
    }
}
