extension Kernels {
    /// Activations quantized on the fly to 16-bit integers for the decode kernels (`int16Dots`): each
    /// block of 32 values of a token's row becomes x ≈ scale · q with q in −32767...32767, plus the sum of
    /// the block's q (for the formats whose weights carry an offset).
    ///
    /// Why 16 bits and not llama.cpp's 8: the rounding error is at most scale/2 = max|x|/65534 per value,
    /// 256 times smaller than int8's, so decoding stays within the float path's parity with transformers
    /// (llama.cpp's int8 activations move the default model's top log-probabilities by up to 0.5), while
    /// `vpmaddwd` still multiplies 16 weights per instruction against 8 for a float FMA, and the weights'
    /// 4- to 8-bit codes widen to 16 bits without any float conversion.
    public struct Int16Activations {
        public let tokens: Int
        public let columns: Int
        /// [tokens, columns]
        public let values: UnsafeMutablePointer<Int16>
        /// [tokens, columns / 32]
        public let scales: UnsafeMutablePointer<Float>
        /// [tokens, columns / 32]
        public let sums: UnsafeMutablePointer<Int32>

        public var blocksPerRow: Int { columns / 32 }

        /// Bytes needed for `tokens` rows of `columns` (a multiple of 32).
        public static func byteCount(tokens: Int, columns: Int) -> Int {
            tokens * columns * 2 + tokens * (columns / 32) * 8
        }

        /// Lays the arrays out in `memory` (at least `byteCount` bytes, 4-byte aligned).
        public init(tokens: Int, columns: Int, memory: UnsafeMutableRawPointer) {
            precondition(columns % 32 == 0, "Int16Activations: columns must be a multiple of 32")
            self.tokens = tokens
            self.columns = columns
            values = memory.bindMemory(to: Int16.self, capacity: tokens * columns)
            let blocks = tokens * (columns / 32)
            scales = (memory + 2 * tokens * columns).bindMemory(to: Float.self, capacity: blocks)
            sums = (memory + 2 * tokens * columns + 4 * blocks).bindMemory(to: Int32.self, capacity: blocks)
        }

        /// Quantizes `x`: [tokens, columns] row-major.
        public func quantize(_ x: UnsafePointer<Float>) {
            for block in 0..<tokens * blocksPerRow {
                let (scale, sum) = Kernels.quantizeInt16Block(x + 32 * block, into: values + 32 * block)
                scales[block] = scale
                sums[block] = sum
            }
        }
    }

    /// Runs `body` with `x`'s first `tokens` rows quantized, in temporary memory (on the stack when small).
    @inlinable
    public static func withInt16Activations<R>(_ x: UnsafePointer<Float>, tokens: Int, columns: Int,
                                               _ body: (Int16Activations) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: Int16Activations.byteCount(tokens: tokens, columns: columns),
                                      alignment: 64) { memory in
            let activations = Int16Activations(tokens: tokens, columns: columns, memory: memory.baseAddress!)
            activations.quantize(x)
            return body(activations)
        }
    }

    /// One block of 32: q = round(x · 32767 / max|x|), to nearest even, and scale = max|x| / 32767.
    /// An all-zero (or all-subnormal) block has scale 0; a block holding an infinity or NaN gets scale
    /// NaN and q = 0, so every product with it is NaN, as in float arithmetic, instead of a trap or a
    /// garbage integer.
    @usableFromInline
    static func quantizeInt16Block(_ x: UnsafePointer<Float>, into q: UnsafeMutablePointer<Int16>) -> (scale: Float, sum: Int32) {
        var largest: Float = 0
        for i in 0..<32 { largest = max(largest, abs(x[i])) }
        for i in 0..<32 where x[i].isNaN { largest = .nan }
        guard largest.isFinite, largest > 0 else {
            q.update(repeating: 0, count: 32)
            return (largest == 0 ? 0 : .nan, 0)
        }
        let inverse = 32767 / largest
        guard inverse.isFinite else {  // only subnormal values: below 1e-38, taken as zeros
            q.update(repeating: 0, count: 32)
            return (0, 0)
        }
        var sum: Int32 = 0
        for i in 0..<32 {
            let value = min(max((x[i] * inverse).rounded(.toNearestOrEven), -32767), 32767)
            q[i] = Int16(value)
            sum += Int32(q[i])
        }
        return (largest / 32767, sum)
    }
}
