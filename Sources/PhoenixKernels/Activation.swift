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
        for i in 0..<count {
            let x = gate[i]
            gate[i] = 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x))) * up[i]
        }
    }

    /// gate[i] = silu(gate[i]) · up[i], the SwiGLU FFN of Llama and Qwen: silu(x) = x · sigmoid(x).
    @inlinable
    public static func siluGate(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = gate[i]
            gate[i] = x / (1 + expf(-x)) * up[i]
        }
    }
}
