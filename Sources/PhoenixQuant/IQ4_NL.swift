// IQ4_NL: 32 weights share one fp16 scale d; each weight is a 4-bit index into a fixed non-linear table:
//   w = d * kvalues[q],  kvalues = -127 -104 -83 -65 -49 -35 -22 -10 1 13 25 38 53 69 89 113
// Byte layout (18 bytes, ggml `block_iq4_nl`):
//   0..<2   d    fp16 bits
//   2..<18  qs   byte j: low nibble = weight j, high nibble = weight j + 16

/// 32 weights in 18 bytes: `w = d * kvalues[q]` on a non-linear 16-value grid.
public struct BlockIQ4_NL: QuantBlock {
    public static var quantType: QuantType { .iq4_NL }
    public var d: UInt16                   // scale, fp16 bits
    public var qs: InlineArray<16, UInt8>  // low nibbles: weights 0..<16, high nibbles: 16..<32

    public init(d: UInt16, qs: InlineArray<16, UInt8>) {
        self.d = d
        self.qs = qs
    }
}

extension BlockIQ4_NL {
    /// ggml `quantize_row_iq4_nl_ref` (its `quantize_row_iq4_nl_impl` with no importance weights and
    /// ntry = -1): d = max / -127 picks each weight's nearest grid value, then d is refitted by least squares
    /// with weights x². An all-zero block stores d = 0 and index 8 (grid value 1, nearest to zero) everywhere.
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 32, "IQ4_NL quantizes 32 weights per block")
        var indices = InlineArray<32, UInt8>(repeating: IQ4Grid.zeroIndex)
        let scale = IQ4Grid.fitGroup(x, tries: -1, indices: &indices, at: 0)
        self.init(d: HalfFloat.fp16Bits(scale), qs: .init(repeating: 0))
        for j in 0..<16 { qs[j] = indices[j] | (indices[j + 16] << 4) }
    }

    /// The 16 grid values an index picks (ggml `kvalues_iq4nl`), shared with IQ4_XS.
    public static var grid: InlineArray<16, Int8> { IQ4Grid.kvalues }

    /// gguf-py `IQ4_NL.dequantize_blocks`: `d * kvalues[q]`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 32, "IQ4_NL dequantizes 32 weights per block")
        let d = HalfFloat.float(fp16Bits: self.d)
        for j in 0..<16 {
            y[j] = d * Float(IQ4Grid.kvalues[Int(qs[j] & 0x0F)])
            y[j + 16] = d * Float(IQ4Grid.kvalues[Int(qs[j] >> 4)])
        }
    }
}

/// The non-linear 4-bit grid of IQ4_NL and IQ4_XS and ggml's search over it (`quantize_row_iq4_nl_impl`).
enum IQ4Grid {
    /// ggml `kvalues_iq4nl`, increasing.
    static let kvalues: InlineArray<16, Int8> = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// The index `bestIndex` gives for 0: grid value 1.
    static let zeroIndex: UInt8 = 8

    /// ggml `best_index_int8`: the index of the grid value nearest to `x` (the upper one on ties).
    static func bestIndex(_ x: Float) -> UInt8 {
        if x <= Float(kvalues[0]) { return 0 }
        if x >= Float(kvalues[15]) { return 15 }
        var low = 0, high = 15
        while high - low > 1 {
            let middle = (low + high) / 2
            if x < Float(kvalues[middle]) { high = middle } else { low = middle }
        }
        return x - Float(kvalues[high - 1]) < Float(kvalues[high]) - x ? UInt8(high - 1) : UInt8(high)
    }

    /// One 32-weight group of `quantize_row_iq4_nl_impl` without importance weights (weights x²): returns
    /// the group scale and writes each weight's grid index to `indices[offset...]`. With `tries` > 0 the
    /// start is d = max / 127 and 2 * tries + 1 further scales (tries + kvalues[0]) / max are tried; with
    /// `tries` < 0 the start is max / -127 and nothing else is tried. An all-zero group returns 0 and leaves
    /// `indices` as they are.
    static func fitGroup<let N: Int>(_ x: UnsafeBufferPointer<Float>, tries ntry: Int,
                                     indices: inout InlineArray<N, UInt8>, at offset: Int) -> Float {
        var amax: Float = 0, max: Float = 0
        for v in x where abs(v) > amax {
            amax = abs(v)
            max = v
        }
        if amax < KQuantSearch.groupMaxEpsilon { return 0 }
        var d = ntry > 0 ? -max / Float(kvalues[0]) : max / Float(kvalues[0])
        var id = 1 / d
        var sumQX: Float = 0, sumQ2: Float = 0
        for j in 0..<x.count {
            let l = bestIndex(id * x[j])
            indices[offset + j] = l
            let q = Float(kvalues[Int(l)])
            let w = x[j] * x[j]
            sumQX += w * q * x[j]
            sumQ2 += w * q * q
        }
        d = sumQ2 > 0 ? sumQX / sumQ2 : 0
        var best = d * sumQX
        for attempt in stride(from: -ntry, through: ntry, by: 1) {
            id = Float(attempt + Int(kvalues[0])) / max
            sumQX = 0
            sumQ2 = 0
            for j in 0..<x.count {
                let q = Float(kvalues[Int(bestIndex(id * x[j]))])
                let w = x[j] * x[j]
                sumQX += w * q * x[j]
                sumQ2 += w * q * q
            }
            if sumQ2 > 0 && sumQX * sumQX > best * sumQ2 {
                d = sumQX / sumQ2
                best = d * sumQX
            }
        }
        return d
    }
}
