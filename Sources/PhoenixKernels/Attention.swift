#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one sequence's keys (or values) of one layer live: positions are grouped in blocks of
/// `blockSize`, and `blockTable[p / blockSize]` says which block of the store holds position p. A
/// contiguous cache is the special case of one block as large as the context.
public struct KVBlocks {
    /// Position 0 of block 0 of the store, already offset to the kv head being read.
    public var base: UnsafePointer<Float>
    public var blockTable: UnsafePointer<Int32>
    public var blockSize: Int
    /// Floats from one position to the next within a block.
    public var positionStride: Int

    public init(base: UnsafePointer<Float>, blockTable: UnsafePointer<Int32>, blockSize: Int, positionStride: Int) {
        self.base = base
        self.blockTable = blockTable
        self.blockSize = blockSize
        self.positionStride = positionStride
    }

    /// Calls `body(firstPosition, rowOfFirstPosition, count)` for each run of consecutive positions in
    /// `positions` that share a block, in order: one division per block, none per position.
    @inline(__always)
    func forEachRun(_ positions: Range<Int>, _ body: (Int, UnsafePointer<Float>, Int) -> Void) {
        var p = positions.lowerBound
        while p < positions.upperBound {
            let (blockIndex, offset) = p.quotientAndRemainder(dividingBy: blockSize)
            let count = min(positions.upperBound - p, blockSize - offset)
            let block = Int(blockTable[blockIndex])
            body(p, base + (block * blockSize + offset) * positionStride, count)
            p += count
        }
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
        var maximum = -Float.infinity
        let first = positions.lowerBound
        keys.forEachRun(positions) { start, row, count in
            for i in 0..<count {
                let s = dot(query, row + i * keys.positionStride, count: headDim) * scale
                scores[start - first + i] = s
                maximum = max(maximum, s)
            }
        }
        let total = exponentiate(scores, count: positions.count, subtracting: maximum)
        out.update(repeating: 0, count: headDim)
        let inverse = 1 / total
        values.forEachRun(positions) { start, row, count in
            for i in 0..<count {
                addScaled(row + i * values.positionStride, scale: scores[start - first + i] * inverse, into: out, count: headDim)
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
