import PhoenixQuant
import PhoenixTestSupport
import Testing

/// quantize then dequantize stays within each format's error bound, on seeded weights uniform in [-1, 1]
/// at 1, 2 and 7 blocks.
@Suite struct RoundTripTests {
    enum Bound {
        /// Bit-for-bit.
        case exact
        /// |dequantized - x| <= bound(x, the block's weights), for every weight.
        case perWeight(@Sendable (_ x: Float, _ block: ArraySlice<Float>) -> Float)
        /// rms(dequantized - x) <= limit * rms(x) over the whole buffer.
        case relativeRMS(Float)
    }

    /// fp16 relative rounding error of a stored scale (half an ulp, 10 fraction bits).
    static let fp16Epsilon: Float = 0x1p-11
    /// Slack for the float32 arithmetic around the bound itself.
    static let arithmeticSlack: Float = 1e-6

    static func bound(_ type: QuantType) -> Bound {
        switch type {
        case .f32:
            return .exact
        case .f16:
            // Half an ulp: 2^-11 relative for normals, 2^-25 absolute in the subnormal range.
            return .perWeight { x, _ in abs(x) * 0x1p-11 + 0x1p-25 }
        case .bf16:
            // Half an ulp of an 8-significant-bit float: 2^-8 relative (inputs are float32 normals).
            return .perWeight { x, _ in abs(x) * 0x1p-8 }
        case .q8_0:
            // d = amax/127; codes round to nearest (d/2), and the fp16 d moves a code |q| <= 127 by |q| d 2^-11.
            return .perWeight { _, block in absMax(block) / 127 * (0.5 + 127 * fp16Epsilon) + arithmeticSlack }
        case .q4_0:
            // d = amax/8; codes round half up but clamp at 7 where x/d reaches 8, so up to one step d;
            // the fp16 d moves a code |q - 8| <= 8 by 8 d 2^-11.
            return .perWeight { _, block in absMax(block) / 8 * (1 + 8 * fp16Epsilon) + arithmeticSlack }
        case .q5_0:
            // As Q4_0 with d = amax/16, a clamp at 15 where x/d reaches 16, |q - 16| <= 16.
            return .perWeight { _, block in absMax(block) / 16 * (1 + 16 * fp16Epsilon) + arithmeticSlack }
        case .q4_1:
            // d = (max - min)/15, codes round to nearest (d/2); fp16 d moves q <= 15 by 15 d 2^-11, fp16 min by |min| 2^-11.
            return .perWeight { _, block in
                let (min, max) = (block.min()!, block.max()!)
                return (max - min) / 15 * (0.5 + 15 * fp16Epsilon) + abs(min) * fp16Epsilon + arithmeticSlack
            }
        case .q5_1:
            // As Q4_1 with d = (max - min)/31 and q <= 31.
            return .perWeight { _, block in
                let (min, max) = (block.min()!, block.max()!)
                return (max - min) / 31 * (0.5 + 31 * fp16Epsilon) + abs(min) * fp16Epsilon + arithmeticSlack
            }
        case .mxfp4:
            // d = 2^(floor(log2 amax) - 3) exactly; the grid is d * {0, 1, 2, 3, 4, 6, 8, 12} and amax < 16 d,
            // so the worst case is the clip from 16 d down to 12 d (the widest gap, 8 d to 12 d, costs 2 d).
            return .perWeight { _, block in
                4 * Float(sign: .plus, exponent: absMax(block).exponent - 3, significand: 1) + arithmeticSlack
            }
        case .q8_K:
            // d = amax/127 kept in float32 and codes round to nearest: d/2.
            return .perWeight { _, block in absMax(block) / 127 * 0.5 + arithmeticSlack }
        // The rest fit scales by search, so a per-weight bound says little. A b-bit uniform quantizer over a
        // group's full range has rms error step / sqrt(12), which for uniform weights is 1 / (2^b - 1) of
        // rms(x). Limits are that figure with headroom for rounded scales and non-linear grids; the measured
        // values (largest over 1, 2 and 7 blocks) are in the comments.
        case .q2_K: return .relativeRMS(0.40)   // 1/3;  measured 0.238
        case .q3_K: return .relativeRMS(0.20)   // 1/7;  measured 0.124
        case .q4_K: return .relativeRMS(0.09)   // 1/15; measured 0.056
        case .q5_K: return .relativeRMS(0.045)  // 1/31; measured 0.029
        case .q6_K: return .relativeRMS(0.022)  // 1/63; measured 0.014
        case .iq4_NL: return .relativeRMS(0.11) // 1/15, on a grid denser near zero; measured 0.075
        case .iq4_XS: return .relativeRMS(0.11) // as IQ4_NL, with 6-bit group scales; measured 0.066
        }
    }

    static func absMax(_ block: ArraySlice<Float>) -> Float { block.reduce(0) { Swift.max($0, abs($1)) } }

    @Test(arguments: QuantType.allCases, [1, 2, 7])
    func errorWithinBound(type: QuantType, blockCount: Int) throws {
        let weights = type.traits.weightsPerBlock
        var rng = SplitMix64(seed: UInt64(type.rawValue) * 100 + UInt64(blockCount))
        let x = rng.floats(blockCount * weights)
        let bytes = Quantization.quantize(type, x)
        try #require(bytes.count == blockCount * type.traits.bytesPerBlock)
        let y = Quantization.dequantize(type, bytes)
        try #require(y.count == x.count)

        switch Self.bound(type) {
        case .exact:
            #expect(y.map(\.bitPattern) == x.map(\.bitPattern))
        case .perWeight(let bound):
            var worst: (excess: Float, index: Int) = (0, -1)
            for i in x.indices {
                let block = x[i / weights * weights ..< (i / weights + 1) * weights]
                let excess = abs(y[i] - x[i]) - bound(x[i], block)
                if excess > worst.excess { worst = (excess, i) }
            }
            #expect(worst.index < 0, "\(type): weight \(worst.index) is \(worst.excess) over its bound")
        case .relativeRMS(let limit):
            let error = zip(x, y).reduce(Float(0)) { $0 + ($1.1 - $1.0) * ($1.1 - $1.0) }
            let signal = x.reduce(Float(0)) { $0 + $1 * $1 }
            let relative = (error / signal).squareRoot()
            #expect(relative <= limit, "\(type): relative rms error \(relative)")
        }
    }

    @Test(arguments: QuantType.allCases)
    func zerosStayZero(type: QuantType) {
        let x = [Float](repeating: 0, count: 2 * type.traits.weightsPerBlock)
        #expect(Quantization.dequantize(type, Quantization.quantize(type, x)).allSatisfy { $0 == 0 })
    }
}
