import Foundation
import PhoenixKernels
import PhoenixTestSupport
import Testing

@Suite struct AttentionTests {
    @Test(arguments: [(1, 8), (5, 16), (33, 64), (7, 256)])
    func fastMatchesReference(keys: Int, headDim: Int) {
        var rng = SplitMix64(seed: UInt64(keys * headDim))
        let stride = 2 * headDim  // two kv heads interleaved per position: read head 1
        let query = rng.floats(headDim, in: -2...2)
        let cacheK = rng.floats(keys * stride, in: -2...2), cacheV = rng.floats(keys * stride)
        var scores = [Float](repeating: 0, count: keys)
        var fast = [Float](repeating: 0, count: headDim), slow = fast
        let window = (keys / 3)..<keys
        cacheK.withUnsafeBufferPointer { k in cacheV.withUnsafeBufferPointer { v in
            Kernels.attend(query: query, keyBase: k.baseAddress! + headDim, valueBase: v.baseAddress! + headDim,
                           positionStride: stride, keys: window, headDim: headDim, scale: 0.125, scores: &scores, into: &fast)
            Reference.attend(query: query, keyBase: k.baseAddress! + headDim, valueBase: v.baseAddress! + headDim,
                             positionStride: stride, keys: window, headDim: headDim, scale: 0.125, scores: &scores, into: &slow)
        } }
        for d in 0..<headDim { #expect(abs(fast[d] - slow[d]) <= 1e-5) }
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
