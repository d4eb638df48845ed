#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MXFP4 (OCP microscaling): 32 weights share a power-of-two scale stored as an E8M0 exponent byte e; each
// weight is a 4-bit E2M1 code. ggml doubles the E2M1 values to make them integers and halves the scale:
//   w = kvalues[q] * 2^(e - 128),  kvalues = 0 1 2 3 4 6 8 12 0 -1 -2 -3 -4 -6 -8 -12
// Byte layout (17 bytes, ggml `block_mxfp4`):
//   0       e    E8M0 exponent
//   1..<17  qs   byte j: low nibble = weight j, high nibble = weight j + 16

/// 32 weights in 17 bytes: `w = kvalues[q] * 2^(e - 128)`.
public struct BlockMXFP4: QuantBlock {
    public static var quantType: QuantType { .mxfp4 }
    public var e: UInt8                    // shared exponent, E8M0
    public var qs: InlineArray<16, UInt8>  // low nibbles: weights 0..<16, high nibbles: 16..<32

    public init(e: UInt8, qs: InlineArray<16, UInt8>) {
        self.e = e
        self.qs = qs
    }

    /// E2M1 values times two, indexed by code (ggml `kvalues_mxfp4`).
    static let kvalues: InlineArray<16, Int8> = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

    /// The 16 values a code picks (`kvalues`), for kernels that compute with the codes.
    public static var grid: InlineArray<16, Int8> { kvalues }

    /// ggml `ggml_e8m0_to_fp32_half`: 2^(e - 128) built from bits; e = 0 and 1 give float32 subnormals.
    @inlinable
    public static func halfScale(_ e: UInt8) -> Float {
        Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << e : UInt32(e - 1) << 23)
    }
}

extension BlockMXFP4 {
    /// ggml `quantize_row_mxfp4_ref` (= gguf-py): e = floor(log2(amax)) - 2 + 127, then each weight takes
    /// the code whose value is nearest (first one on ties, so +0 beats -0).
    public init(quantizing x: UnsafeBufferPointer<Float>) {
        precondition(x.count == 32, "MXFP4 quantizes 32 weights per block")
        var amax: Float = 0
        for v in x where amax < abs(v) { amax = abs(v) }
        // C converts the float exponent with `(uint8_t)`; out-of-range values (amax < 2^-125) wrap as on x86.
        let e = amax > 0 ? UInt8(truncatingIfNeeded: Rounding.truncate(floorf(log2f(amax)) - 2 + 127)) : 0
        let d = Self.halfScale(e)
        self.init(e: e, qs: .init(repeating: 0))
        for j in 0..<16 {
            qs[j] = Self.nearestCode(x[j], scale: d) | (Self.nearestCode(x[j + 16], scale: d) << 4)
        }
    }

    /// ggml `best_index_mxfp4`: the first code minimising |kvalues[code] * scale - x|.
    static func nearestCode(_ x: Float, scale d: Float) -> UInt8 {
        var best: UInt8 = 0
        var bestError = abs(Float(kvalues[0]) * d - x)
        for code in 1..<16 {
            let error = abs(Float(kvalues[code]) * d - x)
            if error < bestError {
                best = UInt8(code)
                bestError = error
            }
        }
        return best
    }

    /// gguf-py `MXFP4.dequantize_blocks`: `d * kvalues[q]`.
    public func dequantize(into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == 32, "MXFP4 dequantizes 32 weights per block")
        let d = Self.halfScale(e)
        for j in 0..<16 {
            y[j] = d * Float(Self.kvalues[Int(qs[j] & 0x0F)])
            y[j + 16] = d * Float(Self.kvalues[Int(qs[j] >> 4)])
        }
    }
}
