#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a head's dimensions are paired for rotary position embedding (RoPE, Su et al. 2021).
public enum RopeStyle: Sendable {
    /// Pairs (2i, 2i+1): llama.cpp's "normal" mode, used by Llama files (the converter permutes Q/K).
    case interleaved
    /// Pairs (i, i + d/2): GPT-NeoX's layout, used by Gemma and Qwen.
    case halves
}

/// Rotation frequencies of one RoPE variant: θ_i = base^(-2i/d) / factor_i for the first `ropeDim`
/// dimensions of a head. Angles are computed in double precision, then rounded once.
public struct RopeFrequencies: Sendable {
    public let style: RopeStyle
    public let ropeDim: Int
    public let inverseFrequencies: [Double]
    /// Positions are divided by this (linear RoPE scaling); 1 when unscaled.
    public let positionScale: Double

    /// `factors`: llama3-style per-frequency divisors (the `rope_freqs` tensor), or nil.
    public init(style: RopeStyle, ropeDim: Int, base: Double, linearScale: Double = 1, factors: [Float]? = nil) {
        precondition(ropeDim % 2 == 0, "RoPE dimension must be even")
        self.style = style
        self.ropeDim = ropeDim
        self.positionScale = linearScale
        inverseFrequencies = (0..<ropeDim / 2).map { i in
            pow(base, -2 * Double(i) / Double(ropeDim)) / Double(factors?[i] ?? 1)
        }
    }
}

extension Kernels {
    /// Rotates `heads` rows of `headDim` (contiguous) for a token at `position`, in place.
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int,
                            _ frequencies: RopeFrequencies) {
        let half = frequencies.ropeDim / 2
        let p = Double(position) / frequencies.positionScale
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * half) { table in
            for i in 0..<half {
                let angle = p * frequencies.inverseFrequencies[i]
                table[2 * i] = Float(cos(angle))
                table[2 * i + 1] = Float(sin(angle))
            }
            for h in 0..<heads {
                let row = x + h * headDim
                for i in 0..<half {
                    let (a, b) = frequencies.style == .interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                    let (c, s) = (table[2 * i], table[2 * i + 1])
                    let (x0, x1) = (row[a], row[b])
                    row[a] = x0 * c - x1 * s
                    row[b] = x0 * s + x1 * c
                }
            }
        }
    }
}
