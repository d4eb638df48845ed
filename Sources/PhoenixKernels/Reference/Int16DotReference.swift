import PhoenixQuant

extension Reference {
    /// The definition of `Kernels.int16Dots` for one row and token, with scalars: each unit's codes are
    /// read from the block bytes as GGUF lays them out, multiplied with the token's 16-bit values in
    /// exact integers, and the float steps follow the kernel's order lane by lane (see `Int16Dot.swift`).
    /// Nil for formats without a 16-bit form.
    public static func int16Dot(_ type: QuantType, _ row: UnsafeRawPointer, _ a: Kernels.Int16Activations, token: Int) -> Float? {
        guard Kernels.hasInt16Dot(type) else { return nil }
        var acc = [Float](repeating: 0, count: 8), mins = acc
        for u in 0..<a.blocksPerRow {
            let unit = int16Unit(type, row, u)
            let block = token * a.blocksPerRow + u
            let dx = a.scales[block]
            // Lane l's products: the kernels pair the weights at even positions (low) and at odd ones
            // (high), so lane l gets positions 4l and 4l + 2, and 4l + 1 and 4l + 3.
            var low = [Int32](repeating: 0, count: 8), high = low
            for l in 0..<8 {
                for j in [4 * l, 4 * l + 2] { low[l] += unit.codes[j] * Int32(a.values[32 * block + j]) }
                for j in [4 * l + 1, 4 * l + 3] { high[l] += unit.codes[j] * Int32(a.values[32 * block + j]) }
            }
            for l in 0..<8 {
                // Q6_K's and Q3_K's halves have their own scales: positions 0..<16 are lanes 0..<4.
                let scale = int16SplitsScales(type) && l >= 4 ? unit.highScale : unit.lowScale
                acc[l] = acc[l].addingProduct(Float(low[l] + high[l]), scale * dx)
            }
            // Offsets: a lane per unit of a super-block (Q4_K, Q5_K, Q2_K); Q4_1's and Q5_1's all in lane 0.
            // Q2_K's halves have their own, times the sums of their own activations, the low half's first.
            if int16HasOffsets(type) {
                let lane = type.traits.weightsPerBlock == 32 ? 0 : u % 8
                if type == .q2_K {
                    let (lowSum, highSum) = halfSums(a, block)
                    mins[lane] = mins[lane].addingProduct(Float(lowSum), unit.minScale * dx)
                    mins[lane] = mins[lane].addingProduct(Float(highSum), unit.highMinScale * dx)
                } else {
                    mins[lane] = mins[lane].addingProduct(Float(a.sums[block]), unit.minScale * dx)
                }
            }
        }
        return laneTreeSum(acc) - laneTreeSum(mins)
    }

    /// The sums of the 16-bit values of block `block`'s first 16 positions and of its last 16.
    static func halfSums(_ a: Kernels.Int16Activations, _ block: Int) -> (Int32, Int32) {
        let q = (0..<32).map { Int32(a.values[32 * block + $0]) }
        return (q[0..<16].reduce(0, +), q[16..<32].reduce(0, +))
    }

    /// Whether the 16-bit form of `type` has weights with an offset (d·scale·q − dmin·min, d·q + m).
    static func int16HasOffsets(_ type: QuantType) -> Bool {
        [.q4_K, .q5_K, .q4_1, .q5_1, .q2_K].contains(type)
    }

    /// Whether the 16-bit form of `type` gives each half of a unit (16 weights) its own scale.
    static func int16SplitsScales(_ type: QuantType) -> Bool {
        [.q6_K, .q3_K, .q2_K].contains(type)
    }

    /// The kernel's fixed order for summing eight lanes.
    static func laneTreeSum(_ v: [Float]) -> Float {
        ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))
    }

    /// A unit's integer codes and scales, as `int16Unit` reads them.
    struct Int16ReferenceUnit {
        var codes: [Int32]
        var lowScale: Float
        var highScale: Float
        /// The offset scale of the unit, or of its first half where the halves have their own (Q2_K).
        var minScale: Float
        var highMinScale: Float

        init(_ codes: [Int32], _ lowScale: Float, _ highScale: Float, _ minScale: Float, highMinScale: Float? = nil) {
            self.codes = codes
            self.lowScale = lowScale
            self.highScale = highScale
            self.minScale = minScale
            self.highMinScale = highMinScale ?? minScale
        }
    }

    /// Unit `u` (weights 32u..<32u+32) of a row: its integer codes and scales.
    static func int16Unit(_ type: QuantType, _ row: UnsafeRawPointer, _ u: Int) -> Int16ReferenceUnit {
        let byte = { (p: UnsafeRawPointer, i: Int) in Int32(p.load(fromByteOffset: i, as: UInt8.self)) }
        let half = { (p: UnsafeRawPointer, i: Int) in Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: i, as: UInt16.self))) }
        switch type {
        case .q8_0:
            let block = row + 34 * u
            let codes = (0..<32).map { Int32(block.load(fromByteOffset: 2 + $0, as: Int8.self)) }
            return Int16ReferenceUnit(codes, half(block, 0), half(block, 0), 0)
        case .q8_K:
            let block = row + 292 * (u / 8)
            let codes = (0..<32).map { Int32(block.load(fromByteOffset: 4 + 32 * (u % 8) + $0, as: Int8.self)) }
            let d = Float(bitPattern: UInt32(littleEndian: block.loadUnaligned(as: UInt32.self)))
            return Int16ReferenceUnit(codes, d, d, 0)
        case .q4_0:
            let block = row + 18 * u
            let codes = (0..<32).map { j in (j < 16 ? byte(block, 2 + j) & 15 : byte(block, 2 + j - 16) >> 4) - 8 }
            return Int16ReferenceUnit(codes, half(block, 0), half(block, 0), 0)
        case .q4_1, .q5_1:  // w = d·q + m: the offset scale is −m
            let fifths = type == .q5_1, block = row + (fifths ? 24 : 20) * u
            let highBits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(byte(block, 4 + $1)) << (8 * $1) }
            let codes = (0..<32).map { j -> Int32 in
                let nibble = j < 16 ? byte(block, (fifths ? 8 : 4) + j) & 15 : byte(block, (fifths ? 8 : 4) + j - 16) >> 4
                return fifths ? nibble | Int32((highBits >> j) & 1) << 4 : nibble
            }
            return Int16ReferenceUnit(codes, half(block, 0), half(block, 0), -half(block, 2))
        case .q5_0:
            let block = row + 22 * u
            let highBits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(byte(block, 2 + $1)) << (8 * $1) }
            let codes = (0..<32).map { j -> Int32 in
                let nibble = j < 16 ? byte(block, 6 + j) & 15 : byte(block, 6 + j - 16) >> 4
                return nibble | Int32((highBits >> j) & 1) << 4 - 16
            }
            return Int16ReferenceUnit(codes, half(block, 0), half(block, 0), 0)
        case .q4_K, .q5_K:
            let fifths = type == .q5_K  // Q5_K: Q4_K's header, 32 bytes of fifth bits, then Q4_K's nibbles
            let block = row + (fifths ? 176 : 144) * (u / 8), g = u % 8
            let packed = (0..<12).map { UInt8(byte(block, 4 + $0)) }
            let (scale, min) = g < 4
                ? (packed[g] & 63, packed[g + 4] & 63)
                : ((packed[g + 4] & 15) | (packed[g - 4] >> 6) << 4, (packed[g + 4] >> 4) | (packed[g] >> 6) << 4)
            let codes = (0..<32).map { j in
                let nibble = (byte(block, (fifths ? 48 : 16) + 32 * (g / 2) + j) >> (4 * (g % 2))) & 15
                return fifths ? nibble | ((byte(block, 16 + j) >> g) & 1) << 4 : nibble
            }
            let d = half(block, 0), dmin = half(block, 2)
            return Int16ReferenceUnit(codes, d * Float(scale), d * Float(scale), dmin * Float(min))
        case .q6_K:
            let block = row + 210 * (u / 8), h = (u % 8) / 4, t = u % 4
            let codes = (0..<32).map { l -> Int32 in
                let low = (byte(block, 64 * h + 32 * (t % 2) + l) >> (4 * (t / 2))) & 15
                let high = (byte(block, 128 + 32 * h + l) >> (2 * t)) & 3
                return (low | high << 4) - 32
            }
            let d = half(block, 208)
            let scale = { (k: Int) in d * Float(block.load(fromByteOffset: 192 + 8 * h + 2 * t + k, as: Int8.self)) }
            return Int16ReferenceUnit(codes, scale(0), scale(1), 0)
        case .iq4_NL:
            let block = row + 18 * u
            let codes = (0..<32).map { j in
                Int32(BlockIQ4_NL.grid[Int(j < 16 ? byte(block, 2 + j) & 15 : byte(block, 2 + j - 16) >> 4)])
            }
            return Int16ReferenceUnit(codes, half(block, 0), half(block, 0), 0)
        case .q2_K:
            let block = row + 84 * (u / 8), v = u % 8, h = v / 4, s = v % 4
            let codes = (0..<32).map { l in (byte(block, 16 + 32 * h + l) >> (2 * s)) & 3 }
            let d = half(block, 80), dmin = half(block, 82)
            // Byte g of the first 16: scale g in the low nibble, min g in the high one (16 weights each).
            let (low, high) = (byte(block, 2 * v), byte(block, 2 * v + 1))
            return Int16ReferenceUnit(codes, d * Float(low & 15), d * Float(high & 15), dmin * Float(low >> 4),
                                      highMinScale: dmin * Float(high >> 4))
        case .mxfp4:
            let block = row + 17 * u, d = BlockMXFP4.halfScale(block.load(as: UInt8.self))
            let codes = (0..<32).map { j in
                Int32(BlockMXFP4.grid[Int(j < 16 ? byte(block, 1 + j) & 15 : byte(block, 1 + j - 16) >> 4)])
            }
            return Int16ReferenceUnit(codes, d, d, 0)
        case .iq4_XS:
            let block = row + 136 * (u / 8), g = u % 8
            let highBits = Int32(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            let ls = ((byte(block, 4 + g / 2) >> (4 * (g % 2))) & 15 | ((highBits >> (2 * g)) & 3) << 4) - 32
            let codes = (0..<32).map { j in
                Int32(BlockIQ4_NL.grid[Int((byte(block, 8 + 16 * g + j % 16) >> (4 * (j / 16))) & 15)])
            }
            let scale = half(block, 0) * Float(ls)
            return Int16ReferenceUnit(codes, scale, scale, 0)
        case .q3_K:
            let block = row + 110 * (u / 8), v = u % 8, h = v / 4, s = v % 4
            let codes = (0..<32).map { l -> Int32 in
                let low = (byte(block, 32 + 32 * h + l) >> (2 * s)) & 3
                let high = (byte(block, l) >> v) & 1
                return low + 4 * high - 4
            }
            // Scale g: low four bits in byte g (g < 8) or the high nibble of byte g − 8, top two in bits
            // 2(g / 4) of byte 8 + g % 4 (of the 12 at 96).
            let scale = { (g: Int) -> Float in
                let low = (byte(block, 96 + g % 8) >> (4 * (g / 8))) & 15
                let top = (byte(block, 104 + g % 4) >> (2 * (g / 4))) & 3
                return half(block, 108) * Float(low | top << 4 - 32)
            }
            return Int16ReferenceUnit(codes, scale(2 * v), scale(2 * v + 1), 0)
        default:
            preconditionFailure("int16Unit: no 16-bit form for \(type)")
        }
    }
}
