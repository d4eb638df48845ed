import Foundation
@testable import PhoenixKernels
import PhoenixTestSupport
import Testing

@Suite struct AttentionTests {
    /// Paged attention ≈ the double-precision definition, for odd block sizes, a shuffled block table,
    /// windows that start mid-block and two kv heads interleaved per position (head 1 is read), with
    /// keys and values stored in either precision.
    @Test(arguments: [(1, 8, 1), (5, 16, 3), (33, 64, 7), (7, 256, 16), (100, 24, 13)])
    func fastMatchesReference(positions: Int, headDim: Int, blockSize: Int) {
        for precision in KVPrecision.allCases {
            var rng = SplitMix64(seed: UInt64(positions * headDim + blockSize))
            let stride = 2 * headDim
            let blocks = (positions + blockSize - 1) / blockSize
            // The store holds more blocks than the sequence uses, in a shuffled order.
            var table = (0..<Int32(blocks + 3)).map { $0 }
            table.shuffle(using: &rng)
            let query = rng.floats(headDim, in: -2...2)
            let storeK = stored(rng.floats((blocks + 3) * blockSize * stride, in: -2...2), precision)
            let storeV = stored(rng.floats((blocks + 3) * blockSize * stride), precision)
            var scores = [Float](repeating: 0, count: positions)
            var fast = [Float](repeating: 0, count: headDim), slow = fast
            let window = (positions / 3)..<positions
            storeK.withUnsafeBytes { k in storeV.withUnsafeBytes { v in table.withUnsafeBufferPointer { t in
                let keys = KVBlocks(base: k.baseAddress! + headDim * precision.bytes, precision: precision,
                                    blockTable: t.baseAddress!, blockSize: blockSize, positionStride: stride)
                let values = KVBlocks(base: v.baseAddress! + headDim * precision.bytes, precision: precision,
                                      blockTable: t.baseAddress!, blockSize: blockSize, positionStride: stride)
                Kernels.attend(query: query, keys: keys, values: values, positions: window, headDim: headDim, scale: 0.125,
                               scores: &scores, into: &fast)
                Reference.attend(query: query, keys: keys, values: values, positions: window, headDim: headDim, scale: 0.125,
                                 into: &slow)
            } } }
            for d in 0..<headDim { #expect(abs(fast[d] - slow[d]) <= 1e-5, "\(precision), element \(d)") }
        }
    }

    /// Four heads at a time ≈ the double-precision definition of each head, for odd position counts
    /// (a lone last key), odd block sizes, a shuffled block table and a window that starts mid-block,
    /// with keys and values stored in either precision.
    @Test(arguments: [(1, 16, 1), (6, 32, 4), (33, 64, 7), (100, 256, 16), (700, 32, 16)])
    func fourHeadsMatchTheReference(positions: Int, headDim: Int, blockSize: Int) {
        for precision in KVPrecision.allCases {
            var rng = SplitMix64(seed: UInt64(3 * positions + headDim + blockSize))
            let stride = 2 * headDim
            let blocks = (positions + blockSize - 1) / blockSize
            var table = (0..<Int32(blocks + 2)).map { $0 }
            table.shuffle(using: &rng)
            let queries = rng.floats(4 * headDim, in: -2...2)
            let storeK = stored(rng.floats((blocks + 2) * blockSize * stride, in: -2...2), precision)
            let storeV = stored(rng.floats((blocks + 2) * blockSize * stride), precision)
            let window = (positions / 3)..<positions
            var scores = [Float](repeating: 0, count: 4 * Kernels.attentionSplit)
            var partials = [Float](repeating: 0, count: Kernels.attentionPieces(window) * Kernels.partialStride(headDim: headDim))
            var fast = [Float](repeating: .nan, count: 4 * headDim), slow = fast
            storeK.withUnsafeBytes { k in storeV.withUnsafeBytes { v in table.withUnsafeBufferPointer { t in
                queries.withUnsafeBufferPointer { q in slow.withUnsafeMutableBufferPointer { s in
                    let keys = KVBlocks(base: k.baseAddress! + headDim * precision.bytes, precision: precision,
                                        blockTable: t.baseAddress!, blockSize: blockSize, positionStride: stride)
                    let values = KVBlocks(base: v.baseAddress! + headDim * precision.bytes, precision: precision,
                                          blockTable: t.baseAddress!, blockSize: blockSize, positionStride: stride)
                    Kernels.attendFourHeads(queries: q.baseAddress!, keys: keys, values: values, positions: window, headDim: headDim,
                                            scale: 0.125, scores: &scores, partials: &partials, into: &fast)
                    for h in 0..<4 {
                        Reference.attend(query: q.baseAddress! + h * headDim, keys: keys, values: values, positions: window,
                                         headDim: headDim, scale: 0.125, into: s.baseAddress! + h * headDim)
                    }
                } }
            } } }
            for d in 0..<4 * headDim {
                #expect(abs(fast[d] - slow[d]) <= 1e-5, "\(precision), element \(d): \(fast[d]) vs \(slow[d])")
            }
        }
    }

    /// A piece's 512-bit loops (`WideKernels.attentionScores` and `attentionWeightedSums`, where the CPU
    /// has them) give the 256-bit loops' bits: a lone last key, pieces cut into runs by blocks, rows asked
    /// for ahead or not, keys and values in either precision.
    @Test(arguments: [(1, 16, 1), (2, 32, 7), (3, 256, 2), (63, 32, 7), (64, 256, 16), (45, 48, 64)])
    func wideAndNarrowPiecesGiveTheSameBits(count: Int, headDim: Int, blockSize: Int) throws {
        let positions = 5..<5 + count, stride = 2 * headDim
        for precision in KVPrecision.allCases {
            for prefetching in [false, true] {
                var rng = SplitMix64(seed: UInt64(count * 1000 + headDim + blockSize))
                let blocks = (positions.upperBound + blockSize - 1) / blockSize
                var table = (0..<Int32(blocks)).map { $0 }
                table.shuffle(using: &rng)
                let queries = rng.floats(4 * headDim, in: -2...2)
                let storeK = stored(rng.floats(blocks * blockSize * stride, in: -2...2), precision)
                let storeV = stored(rng.floats(blocks * blockSize * stride), precision)
                var results: [[UInt32]] = []
                try Int16DotTests.withEachKernelWidth { _ in
                    var scores = [Float](repeating: 0, count: 4 * Kernels.attentionSplit)
                    var partial = [Float](repeating: .nan, count: Kernels.partialStride(headDim: headDim))
                    storeK.withUnsafeBytes { k in storeV.withUnsafeBytes { v in table.withUnsafeBufferPointer { t in
                        let keys = KVBlocks(base: k.baseAddress! + headDim * precision.bytes, precision: precision,
                                            blockTable: t.baseAddress!, blockSize: blockSize, positionStride: stride)
                        let values = KVBlocks(base: v.baseAddress!, precision: precision, blockTable: t.baseAddress!,
                                              blockSize: blockSize, positionStride: stride)
                        Kernels.attendFourHeadsPiece(queries: queries, keys: keys, values: values, positions: positions,
                                                     headDim: headDim, scale: 0.17, scores: &scores, prefetching: prefetching,
                                                     into: &partial)
                    } } }
                    #expect(partial.allSatisfy { !$0.isNaN })
                    results.append(partial.map(\.bitPattern))
                }
                #expect(results.count == (Kernels.wideKernelsAvailable ? 2 : 1))
                #expect(results.allSatisfy { $0 == results[0] }, "\(precision), prefetching \(prefetching)")
            }
        }
    }

    /// `mergeFourHeads` is its definition written out with scalars: piece i's weight w_i = exp(m_i − max m),
    /// each output value the FMAs of its pieces' values and weights in order, times 1 / Σ l_i · w_i.
    @Test func mergeIsItsDefinition() {
        var rng = SplitMix64(seed: 77)
        let (pieces, headDim) = (5, 32), stride = Kernels.partialStride(headDim: headDim)
        var partials = rng.floats(pieces * stride, in: -2...2)
        for i in 0..<pieces {
            for h in 0..<4 { partials[i * stride + 4 * headDim + 4 + h] = abs(partials[i * stride + 4 * headDim + 4 + h]) + 0.5 }
        }
        var out = [Float](repeating: .nan, count: 4 * headDim)
        Kernels.mergeFourHeads(partials, pieces: pieces, headDim: headDim, into: &out)
        for h in 0..<4 {
            let maxima = (0..<pieces).map { partials[$0 * stride + 4 * headDim + h] }, largest = maxima.max()!
            let weights = maxima.map { expf($0 - largest) }
            var total: Float = 0
            for i in 0..<pieces { total = total.addingProduct(partials[i * stride + 4 * headDim + 4 + h], weights[i]) }
            for d in 0..<headDim {
                var sum: Float = 0
                for i in 0..<pieces { sum = sum.addingProduct(partials[i * stride + h * headDim + d], weights[i]) }
                #expect(out[h * headDim + d].bitPattern == (sum * (1 / total)).bitPattern, "head \(h), value \(d)")
            }
        }
    }

    /// `floats` as a KV store of `precision` holds them: halves rounded as `Kernels.storeHalves` does.
    func stored(_ floats: [Float], _ precision: KVPrecision) -> [UInt8] {
        switch precision {
        case .f16: halves(floats).withUnsafeBytes { Array($0) }
        case .f32: floats.withUnsafeBytes { Array($0) }
        }
    }

    /// Split-KV: a long range's pieces computed in any order (as threads would) and then merged give the
    /// bits of `attendFourHeads`, which runs them in turn; one piece gives o · (1 / l), as unsplit.
    @Test func piecesInAnyOrderMergeToTheSameBits() {
        var rng = SplitMix64(seed: 21)
        let (positions, headDim) = (1000, 32)
        let k = halves(rng.floats(positions * headDim, in: -2...2)), v = halves(rng.floats(positions * headDim))
        let queries = rng.floats(4 * headDim, in: -2...2)
        let table: [Int32] = [0]
        let stride = Kernels.partialStride(headDim: headDim)
        // Cut at multiples of 64: 0..<1000 in 16 pieces (the last 960..<1000), 300..<301 in one, 250..<777 in
        // ten (the first 250..<256, the last 768..<777).
        for (window, expectedPieces) in [(0..<positions, 16), (300..<301, 1), (250..<777, 10)] {
            let pieces = Kernels.attentionPieces(window)
            #expect(pieces == expectedPieces)
            var scores = [Float](repeating: 0, count: 4 * Kernels.attentionSplit)
            var partials = [Float](repeating: 0, count: pieces * stride), shuffled = partials
            var whole = [Float](repeating: .nan, count: 4 * headDim), merged = whole
            k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in table.withUnsafeBufferPointer { t in
                let keys = KVBlocks(base: kp.baseAddress!, blockTable: t.baseAddress!, blockSize: positions, positionStride: headDim)
                let values = KVBlocks(base: vp.baseAddress!, blockTable: t.baseAddress!, blockSize: positions, positionStride: headDim)
                Kernels.attendFourHeads(queries: queries, keys: keys, values: values, positions: window, headDim: headDim,
                                        scale: 0.1, scores: &scores, partials: &partials, into: &whole)
                shuffled.withUnsafeMutableBufferPointer { p in
                    for i in (0..<pieces).reversed() {
                        Kernels.attendFourHeadsPiece(queries: queries, keys: keys, values: values,
                                                     positions: Kernels.attentionPiece(window, i), headDim: headDim, scale: 0.1,
                                                     scores: &scores, into: p.baseAddress! + i * stride)
                    }
                }
            } } }
            Kernels.mergeFourHeads(shuffled, pieces: pieces, headDim: headDim, into: &merged)
            #expect(whole.map(\.bitPattern) == merged.map(\.bitPattern), "window \(window)")
            // The pieces cover the window exactly, in order.
            #expect((0..<pieces).flatMap { Array(Kernels.attentionPiece(window, $0)) } == Array(window))
        }
    }

    /// The same keys stored contiguously (one block as large as the context) and paged give the same bits:
    /// what lets a paged server reproduce single-sequence generation exactly. The paged four-head calls
    /// also ask for rows ahead (`prefetching`, as decoded tokens do), across runs shorter than
    /// `keysAhead`, which must not change a bit either.
    @Test func pagedEqualsContiguousBitForBit() {
        var rng = SplitMix64(seed: 99)
        let (positions, headDim, blockSize) = (45, 32, 8)
        let contiguousK = halves(rng.floats(positions * headDim, in: -2...2))
        let contiguousV = halves(rng.floats(positions * headDim))
        let blocks = (positions + blockSize - 1) / blockSize
        let table: [Int32] = (0..<Int32(blocks)).reversed().map { $0 }
        var pagedK = [Float16](repeating: .nan, count: blocks * blockSize * headDim), pagedV = pagedK
        for p in 0..<positions {
            let row = (Int(table[p / blockSize]) * blockSize + p % blockSize) * headDim
            for d in 0..<headDim { pagedK[row + d] = contiguousK[p * headDim + d]; pagedV[row + d] = contiguousV[p * headDim + d] }
        }
        let query = rng.floats(headDim, in: -2...2), queries = rng.floats(4 * headDim, in: -2...2)
        var scores = [Float](repeating: 0, count: 4 * positions)
        var contiguous = [Float](repeating: 0, count: headDim), paged = contiguous
        var contiguousFour = [Float](repeating: 0, count: 4 * headDim), pagedFour = contiguousFour
        var partials = [Float](repeating: 0, count: Kernels.partialStride(headDim: headDim))
        let whole: [Int32] = [0]
        for window in [0..<positions, 11..<positions, 17..<18] {
            contiguousK.withUnsafeBufferPointer { k in contiguousV.withUnsafeBufferPointer { v in whole.withUnsafeBufferPointer { t in
                Kernels.attendFourHeads(queries: queries,
                               keys: KVBlocks(base: k.baseAddress!, blockTable: t.baseAddress!, blockSize: positions, positionStride: headDim),
                               values: KVBlocks(base: v.baseAddress!, blockTable: t.baseAddress!, blockSize: positions, positionStride: headDim),
                               positions: window, headDim: headDim, scale: 0.2, scores: &scores, partials: &partials,
                               into: &contiguousFour)
            } } }
            pagedK.withUnsafeBufferPointer { k in pagedV.withUnsafeBufferPointer { v in table.withUnsafeBufferPointer { t in
                Kernels.attendFourHeads(queries: queries,
                               keys: KVBlocks(base: k.baseAddress!, blockTable: t.baseAddress!, blockSize: blockSize, positionStride: headDim),
                               values: KVBlocks(base: v.baseAddress!, blockTable: t.baseAddress!, blockSize: blockSize, positionStride: headDim),
                               positions: window, headDim: headDim, scale: 0.2, scores: &scores, partials: &partials,
                               prefetching: true, into: &pagedFour)
            } } }
            #expect(contiguousFour.map(\.bitPattern) == pagedFour.map(\.bitPattern))
            contiguousK.withUnsafeBufferPointer { k in contiguousV.withUnsafeBufferPointer { v in whole.withUnsafeBufferPointer { t in
                Kernels.attend(query: query,
                               keys: KVBlocks(base: k.baseAddress!, blockTable: t.baseAddress!, blockSize: positions, positionStride: headDim),
                               values: KVBlocks(base: v.baseAddress!, blockTable: t.baseAddress!, blockSize: positions, positionStride: headDim),
                               positions: window, headDim: headDim, scale: 0.2, scores: &scores, into: &contiguous)
            } } }
            pagedK.withUnsafeBufferPointer { k in pagedV.withUnsafeBufferPointer { v in table.withUnsafeBufferPointer { t in
                Kernels.attend(query: query,
                               keys: KVBlocks(base: k.baseAddress!, blockTable: t.baseAddress!, blockSize: blockSize, positionStride: headDim),
                               values: KVBlocks(base: v.baseAddress!, blockTable: t.baseAddress!, blockSize: blockSize, positionStride: headDim),
                               positions: window, headDim: headDim, scale: 0.2, scores: &scores, into: &paged)
            } } }
            #expect(contiguous == paged)
        }
    }

    /// The key and value rows a cache holds: floats rounded to halves as `Kernels.storeHalves` does.
    func halves(_ floats: [Float]) -> [Float16] { floats.map { Float16($0) } }

    /// `loadHalves` (one `vcvtph2ps` on x86) widens every half bit pattern as Swift's own conversion does:
    /// normals, subnormals, zeros, infinities, and NaNs staying NaN.
    @Test func loadHalvesWidensEveryBitPattern() {
        let all = (0...UInt16.max).map { Float16(bitPattern: $0) }
        all.withUnsafeBufferPointer { p in
            for start in Swift.stride(from: 0, to: all.count, by: 8) {
                let wide = Kernels.loadHalves(p.baseAddress! + start)
                for i in 0..<8 {
                    let expected = Float(all[start + i])
                    if expected.isNaN {
                        #expect(wide[i].isNaN, "bits \(start + i)")
                    } else {
                        #expect(wide[i].bitPattern == expected.bitPattern, "bits \(start + i)")
                    }
                }
            }
        }
    }

    /// The half-precision dot product and weighted sum of single-head attention match a plain loop over
    /// the widened values at odd lengths (vector bodies of 32 and 8, scalar tails).
    @Test(arguments: [1, 7, 8, 9, 31, 33, 45, 256, 263])
    func halfDotAndWeightedSumMatchPlainLoops(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        let a = rng.floats(count, in: -2...2), b = halves(rng.floats(count, in: -2...2))
        let expectedDot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        b.withUnsafeBytes { row in
            #expect(abs(Double(HalfRow.dot(a, row.baseAddress!, count: count)) - expectedDot) <= 1e-5 * Double(count))
        }
        var y = rng.floats(count)
        let start = y
        b.withUnsafeBytes { row in HalfRow.addScaled(row.baseAddress!, scale: 0.75, into: &y, count: count) }
        for i in 0..<count {
            let expected = Double(start[i]) + 0.75 * Double(b[i])
            #expect(abs(Double(y[i]) - expected) <= 1e-6 * max(1, abs(expected)), "element \(i)")
        }
    }

    /// Storing rounds each float to the nearest half, ties to even, overflowing to infinity: checked
    /// against values whose halves are known, not against another conversion.
    @Test func storeHalvesRounds() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (65520, 0x7C00), (-1e6, 0xFC00), (0, 0x0000),
            (1 + 1.0 / 2048, 0x3C00),        // halfway between 1 and 1 + 2^-10: ties to even (1)
            (1 + 3.0 / 2048, 0x3C02),        // halfway between 1 + 2^-10 and 1 + 2^-9: ties to even (up)
            (Float(5.9604645e-8), 0x0001),   // the smallest subnormal half
            (Float(2.9e-8), 0x0000),          // below half of it: zero
            (0.333333343, 0x3555),
        ]
        let x = cases.map(\.0)
        var y = [Float16](repeating: .nan, count: x.count)
        Kernels.storeHalves(x, into: &y, count: x.count)
        for (i, (value, bits)) in cases.enumerated() { #expect(y[i].bitPattern == bits, "\(value)") }
    }

    /// Rotation keeps each pair's length, is the identity at position 0, and the two pairings differ.
    @Test func ropeRotatesPairs() {
        var rng = SplitMix64(seed: 1)
        let x = rng.floats(2 * 8)
        for style in [RopeStyle.interleaved, .halves] {
            let frequencies = RopeFrequencies(style: style, ropeDim: 8, base: 10_000)
            var at0 = x
            Kernels.rope(&at0, heads: 2, headDim: 8, position: 0, frequencies)
            #expect(at0 == x)
            var at5 = x
            Kernels.rope(&at5, heads: 2, headDim: 8, position: 5, frequencies)
            let pairs = style == .interleaved ? [(0, 1), (2, 3), (4, 5), (6, 7)] : [(0, 4), (1, 5), (2, 6), (3, 7)]
            for head in 0..<2 {
                for (i, (a, b)) in pairs.enumerated() {
                    let (a, b) = (head * 8 + a, head * 8 + b)
                    let before = x[a] * x[a] + x[b] * x[b], after = at5[a] * at5[a] + at5[b] * at5[b]
                    #expect(abs(before - after) <= 1e-5)
                    // pair i turns by 5 · 10000^(-2i/8)
                    let angle = 5 * Double.pow(10_000, -2 * Double(i) / 8)
                    let expected = Float(Double(x[a]) * cos(angle) - Double(x[b]) * sin(angle))
                    #expect(abs(at5[a] - expected) <= 1e-5)
                }
            }
        }
    }
}

extension AttentionTests {
    /// Kernels.rope ≈ Reference.rope for both pairings, partial rotation, linear and YaRN scaling, odd positions.
    @Test(arguments: [(8, 8, 0), (8, 16, 7), (16, 16, 95), (6, 10, 1), (64, 64, 4097)])
    func ropeMatchesReference(ropeDim: Int, headDim: Int, position: Int) {
        var rng = SplitMix64(seed: UInt64(ropeDim * 1000 + position))
        let x = rng.floats(3 * headDim, in: -2...2)
        for style in [RopeStyle.interleaved, .halves] {
            let variants = [
                RopeFrequencies(style: style, ropeDim: ropeDim, base: 10_000),
                RopeFrequencies(style: style, ropeDim: ropeDim, base: 500_000, linearScale: 4),
                RopeFrequencies(style: style, ropeDim: ropeDim, base: 10_000, yarnFactor: 4, originalContextLength: 64),
            ]
            for frequencies in variants {
                var fast = x, slow = x
                Kernels.rope(&fast, heads: 3, headDim: headDim, position: position, frequencies)
                Reference.rope(&slow, heads: 3, headDim: headDim, position: position, frequencies)
                for i in 0..<x.count { #expect(abs(fast[i] - slow[i]) <= 1e-5 * max(1, abs(slow[i]))) }
            }
        }
    }

    /// YaRN with d 8, base 10000, original context 64: c(32) < 0 and c(1) = 1.008, so low 0, high 2, and the
    /// ramp over the 4 frequencies is [0, ½, 1, 1]; cos/sin scale by 0.1 ln 4 + 1 (transformers' values).
    @Test func yarnBlendsFrequencies() {
        let yarn = RopeFrequencies(style: .halves, ropeDim: 8, base: 10_000, yarnFactor: 4, originalContextLength: 64)
        let ramp = [0, 0.5, 1, 1]
        for i in 0..<4 {
            let theta = Double.pow(10_000, -2 * Double(i) / 8)
            #expect(abs(yarn.inverseFrequencies[i] - (theta * (1 - ramp[i]) + theta / 4 * ramp[i])) <= 1e-15)
        }
        #expect(abs(yarn.magnitude - (0.1 * log(4) + 1)) <= 1e-15)
        #expect(yarn.positionScale == 1)
        let unscaled = RopeFrequencies(style: .halves, ropeDim: 8, base: 10_000, yarnFactor: 1, originalContextLength: 64)
        #expect(unscaled.magnitude == 1)
        #expect(unscaled.inverseFrequencies == RopeFrequencies(style: .halves, ropeDim: 8, base: 10_000).inverseFrequencies)
    }
}

extension Double {
    static func pow(_ base: Double, _ exponent: Double) -> Double { Foundation.pow(base, exponent) }
}
