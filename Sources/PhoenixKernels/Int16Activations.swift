#if arch(x86_64)
import CPhoenixX86
#endif

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
        /// The same values, each block of 32 as its 16 values at even positions, then its 16 at odd ones:
        /// the order in which the decode kernels' weights come (`Int16Unit`). `values` keeps position
        /// order for the reference definitions.
        public let evenOdd: UnsafeMutablePointer<Int16>
        /// [tokens, columns / 32]
        public let scales: UnsafeMutablePointer<Float>
        /// `scales` again, each in all eight lanes: a kernel multiplies a weight block's scale by it with
        /// one vector instruction, where from the scalar LLVM made a scalar multiply and a broadcast (a
        /// shuffle, on the port that limits the decode kernels on Intel cores).
        public let scaleVectors: UnsafeMutablePointer<SIMD8<Float>>
        /// [tokens, columns / 32]
        public let sums: UnsafeMutablePointer<Int32>
        /// [tokens, columns / 32]: the sums of each block's first 16 q and of its last 16 (for Q2_K,
        /// whose offsets change every 16 weights).
        public let lowHalfSums: UnsafeMutablePointer<Int32>
        public let highHalfSums: UnsafeMutablePointer<Int32>

        public var blocksPerRow: Int { columns / 32 }

        /// Bytes needed for `tokens` rows of `columns` (a multiple of 32).
        public static func byteCount(tokens: Int, columns: Int) -> Int {
            tokens * columns * 4 + tokens * (columns / 32) * (32 + 16)
        }

        /// Lays the arrays out in `memory` (at least `byteCount` bytes, 32-byte aligned).
        public init(tokens: Int, columns: Int, memory: UnsafeMutableRawPointer) {
            precondition(columns % 32 == 0, "Int16Activations: columns must be a multiple of 32")
            precondition(Int(bitPattern: memory) % 32 == 0, "Int16Activations: memory must be 32-byte aligned")
            self.tokens = tokens
            self.columns = columns
            let codes = memory.bindMemory(to: Int16.self, capacity: 2 * tokens * columns)
            values = codes
            evenOdd = codes + tokens * columns
            let blocks = tokens * (columns / 32), codeBytes = 4 * tokens * columns  // a multiple of 128
            scaleVectors = (memory + codeBytes).bindMemory(to: SIMD8<Float>.self, capacity: blocks)
            scales = (memory + codeBytes + 32 * blocks).bindMemory(to: Float.self, capacity: blocks)
            sums = (memory + codeBytes + 36 * blocks).bindMemory(to: Int32.self, capacity: blocks)
            lowHalfSums = (memory + codeBytes + 40 * blocks).bindMemory(to: Int32.self, capacity: blocks)
            highHalfSums = (memory + codeBytes + 44 * blocks).bindMemory(to: Int32.self, capacity: blocks)
        }

        /// Quantizes `x`: [tokens, columns] row-major.
        public func quantize(_ x: UnsafePointer<Float>) {
            for block in 0..<tokens * blocksPerRow {
                let (scale, sum) = Kernels.quantizeInt16Block(x + 32 * block, into: values + 32 * block)
                scales[block] = scale
                scaleVectors[block] = SIMD8(repeating: scale)
                sums[block] = sum
                let low = Kernels.lowHalfSum(values + 32 * block)
                lowHalfSums[block] = low
                highHalfSums[block] = sum - low
                Kernels.splitEvenOdd(values + 32 * block, into: evenOdd + 32 * block)
            }
        }
    }

    /// The sum of a block's first 16 values. In vector registers on x86-64: element by element, this
    /// and `splitEvenOdd` took as long as quantizing the block.
    @inline(__always)
    static func lowHalfSum(_ q: UnsafePointer<Int16>) -> Int32 {
        #if arch(x86_64)
        let pairs = _mm256_madd_epi16(_mm256_loadu_si256(UnsafeRawPointer(q).assumingMemoryBound(to: __m256i.self)),
                                      _mm256_set1_epi16(1))
        return unsafeBitCast(pairs, to: SIMD8<Int32>.self).wrappedSum()
        #else
        return (0..<16).reduce(Int32(0)) { $0 + Int32(q[$1]) }
        #endif
    }

    /// A block's 32 values as its 16 at even positions, then its 16 at odd ones.
    @inline(__always)
    static func splitEvenOdd(_ q: UnsafePointer<Int16>, into split: UnsafeMutablePointer<Int16>) {
        #if arch(x86_64)
        let p = UnsafeRawPointer(q), out = UnsafeMutableRawPointer(split)
        let first = phoenix_evens_then_odds_int16(_mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)))
        let second = phoenix_evens_then_odds_int16(_mm256_loadu_si256((p + 32).assumingMemoryBound(to: __m256i.self)))
        _mm256_storeu_si256(out.assumingMemoryBound(to: __m256i.self),
                            phoenix_join128(_mm256_castsi256_si128(first), _mm256_castsi256_si128(second)))
        _mm256_storeu_si256((out + 32).assumingMemoryBound(to: __m256i.self),
                            phoenix_join128(phoenix_high128(first), phoenix_high128(second)))
        #else
        for i in 0..<16 {
            split[i] = q[2 * i]
            split[16 + i] = q[2 * i + 1]
        }
        #endif
    }

    /// Runs `body` with `x`'s first `tokens` rows quantized, in `pool`'s reusable caller memory: a decode
    /// step's products quantize their input there without allocating (a row of 2,048 values takes 11 KB,
    /// which `withUnsafeTemporaryAllocation` put on the heap).
    @inlinable
    public static func withInt16Activations<R>(_ x: UnsafePointer<Float>, tokens: Int, columns: Int, pool: ThreadPool,
                                               _ body: (Int16Activations) -> R) -> R {
        pool.withCallerMemory(bytes: Int16Activations.byteCount(tokens: tokens, columns: columns)) { memory in
            let activations = Int16Activations(tokens: tokens, columns: columns, memory: memory)
            activations.quantize(x)
            return body(activations)
        }
    }

    /// One block of 32: q = round(x · 32767 / max|x|), to nearest even, and scale = max|x| / 32767,
    /// with the sum of the q. Eight lanes at a time on x86-64; blocks that are all zero or hold an
    /// infinity or NaN, and other CPUs, take the scalar definition (`Reference.quantizeInt16Block`),
    /// whose results this gives bit for bit.
    public static func quantizeInt16Block(_ x: UnsafePointer<Float>, into q: UnsafeMutablePointer<Int16>) -> (scale: Float, sum: Int32) {
        #if arch(x86_64)
        let p = UnsafeRawPointer(x)
        let v0 = p.loadUnaligned(as: SIMD8<Float>.self), v1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        let v2 = p.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), v3 = p.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
        // x − x is 0 for every finite x and NaN for an infinity or NaN, so one sum tells whether all are finite.
        let finite = laneTreeSum((v0 - v0) + (v1 - v1) + (v2 - v2) + (v3 - v3)) == 0
        let magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFF_FFFF))
        let m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, magnitude), _mm256_and_ps(v1, magnitude)),
                              _mm256_max_ps(_mm256_and_ps(v2, magnitude), _mm256_and_ps(v3, magnitude)))
        let half = _mm_max_ps(m.lowHalf, m.highHalf)
        let largest = max(max(half[0], half[1]), max(half[2], half[3]))
        let inverse = 32767 / largest
        guard finite, largest > 0, inverse.isFinite else { return Reference.quantizeInt16Block(x, into: q) }
        // The default rounding mode of `vcvtps2dq` is to nearest even.
        let scale = SIMD8<Float>(repeating: inverse), low = _mm256_set1_epi32(-32767), high = _mm256_set1_epi32(32767)
        @inline(__always) func codes(_ v: SIMD8<Float>) -> __m256i {
            _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v * scale), low), high)
        }
        let q0 = codes(v0), q1 = codes(v1), q2 = codes(v2), q3 = codes(v3)
        let out = UnsafeMutableRawPointer(q)
        _mm256_storeu_si256(out.assumingMemoryBound(to: __m256i.self), phoenix_pack_int16(q0, q1))
        _mm256_storeu_si256((out + 32).assumingMemoryBound(to: __m256i.self), phoenix_pack_int16(q2, q3))
        let sums = unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3)), to: SIMD8<Int32>.self)
        return (largest / 32767, sums.wrappedSum())
        #else
        return Reference.quantizeInt16Block(x, into: q)
        #endif
    }
}
