#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
    /// gate[i] = gelu_tanh(gate[i]) · up[i], the gated FFN of Gemma (GeGLU with the tanh approximation):
    /// gelu_tanh(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))).
    @inlinable
    public static func geluGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        let c: Float = 0.797_884_560_802_865_4  // √(2/π)
        let pg = UnsafeMutableRawPointer(gate), pu = UnsafeRawPointer(up)
        var i = 0
        while i + 8 <= count {
            let x = pg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let t = tanh(c * (x + 0.044715 * x * x * x))
            pg.storeBytes(of: 0.5 * x * (1 + t) * pu.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                          toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        for i in i..<count {  // tail: fewer than 8 left
            let x = gate[i]
            gate[i] = 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x))) * up[i]
        }
    }

    /// gate[i] = silu(gate[i]) · up[i], the SwiGLU FFN of Llama and Qwen: silu(x) = x · sigmoid(x).
    @inlinable
    public static func siluGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        let pg = UnsafeMutableRawPointer(gate), pu = UnsafeRawPointer(up)
        var i = 0
        while i + 8 <= count {
            let x = pg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            pg.storeBytes(of: x / (1 + exp(-x)) * pu.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                          toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        for i in i..<count {  // tail: fewer than 8 left
            let x = gate[i]
            gate[i] = x / (1 + expf(-x)) * up[i]
        }
    }
}
