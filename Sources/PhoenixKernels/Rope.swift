#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a head's dimensions are paired for rotary position embedding (RoPE, Su et al. 2021).
public enum RopeStyle: Sendable, Equatable {
    /// Pairs (2i, 2i+1): llama.cpp's "normal" mode, used by Llama files (the converter permutes Q/K).
    case interleaved
    /// Pairs (i, i + d/2): GPT-NeoX's layout, used by Gemma and Qwen.
    case halves
}

/// Rotation frequencies of one RoPE variant: θ_i = base^(-2i/d) / factor_i for the first `ropeDim`
/// dimensions of a head. Angles are computed in double precision, then rounded once.
public struct RopeFrequencies: Sendable, Equatable {
    public let style: RopeStyle
    public let ropeDim: Int
    public let inverseFrequencies: [Double]
    /// Positions are divided by this (linear RoPE scaling); 1 when unscaled.
    public let positionScale: Double
    /// cos and sin are multiplied by this (YaRN's attention factor); 1 otherwise.
    public let magnitude: Double

    /// `factors`: llama3-style per-frequency divisors (the `rope_freqs` tensor), or nil.
    public init(style: RopeStyle, ropeDim: Int, base: Double, linearScale: Double = 1, factors: [Float]? = nil) {
        precondition(ropeDim % 2 == 0, "RoPE dimension must be even")
        self.style = style
        self.ropeDim = ropeDim
        self.positionScale = linearScale
        self.magnitude = 1
        inverseFrequencies = (0..<ropeDim / 2).map { i in
            pow(base, -2 * Double(i) / Double(ropeDim)) / Double(factors?[i] ?? 1)
        }
    }

    /// YaRN (Peng et al. 2023, arXiv:2309.00071), as transformers' `_compute_yarn_parameters` defines it
    /// (modeling_rope_utils.py, transformers 5.24.0, with `truncate` true). With d = `ropeDim` and
    /// c(r) = d ln(originalContextLength / (2π r)) / (2 ln base), the dimensions that turn more than `betaFast`
    /// times over the original context keep θ_i (extrapolation), those that turn fewer than `betaSlow` times
    /// use θ_i / factor (interpolation), and a linear ramp over i blends the two in between:
    ///   low = max(⌊c(betaFast)⌋, 0), high = min(⌈c(betaSlow)⌉, d - 1),
    ///   ramp_i = clamp((i - low) / (high - low), 0, 1),   θ'_i = θ_i (1 - ramp_i) + θ_i / factor · ramp_i.
    /// cos and sin are then scaled by `attentionFactor`, by default 0.1 ln(factor) + 1 (1 when factor ≤ 1).
    public init(style: RopeStyle, ropeDim: Int, base: Double, yarnFactor factor: Double, originalContextLength: Int,
                betaFast: Double = 32, betaSlow: Double = 1, attentionFactor: Double? = nil) {
        precondition(ropeDim % 2 == 0, "RoPE dimension must be even")
        self.style = style
        self.ropeDim = ropeDim
        self.positionScale = 1
        self.magnitude = attentionFactor ?? (factor <= 1 ? 1 : 0.1 * log(factor) + 1)
        let d = Double(ropeDim)
        func correctionDim(_ rotations: Double) -> Double {
            d * log(Double(originalContextLength) / (rotations * 2 * Double.pi)) / (2 * log(base))
        }
        let low = max(correctionDim(betaFast).rounded(.down), 0)
        var high = min(correctionDim(betaSlow).rounded(.up), d - 1)
        if low == high { high += 0.001 }  // as transformers: avoids dividing by zero
        inverseFrequencies = (0..<ropeDim / 2).map { i in
            let extrapolated = pow(base, -2 * Double(i) / d)
            let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
            return extrapolated * (1 - ramp) + extrapolated / factor * ramp
        }
    }
}

extension Kernels {
    /// Rotates `heads` rows of `headDim` (contiguous) for a token at `position`, in place, and scales the
    /// rotated dimensions by `frequencies.magnitude`. Must match `Reference.rope`.
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int,
                            _ frequencies: RopeFrequencies) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: frequencies.ropeDim) { table in
            ropeTable(position: position, frequencies, into: table.baseAddress!)
            rope(x, heads: heads, headDim: headDim, table: table.baseAddress!, frequencies)
        }
    }

    /// The cosines and sines (times `magnitude`) of one position's angles, `ropeDim` floats:
    /// table[2i] = cos, table[2i + 1] = sin of pair i's angle. Angles are taken in double precision.
    public static func ropeTable(position: Int, _ frequencies: RopeFrequencies, into table: UnsafeMutablePointer<Float>) {
        let p = Double(position) / frequencies.positionScale
        for i in 0..<frequencies.ropeDim / 2 {
            let angle = p * frequencies.inverseFrequencies[i]
            table[2 * i] = Float(cos(angle) * frequencies.magnitude)
            table[2 * i + 1] = Float(sin(angle) * frequencies.magnitude)
        }
    }

    /// `rope` with the position's table from `ropeTable`, so the layers that share frequencies can share
    /// one table per position.
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, table: UnsafePointer<Float>,
                            _ frequencies: RopeFrequencies) {
        let half = frequencies.ropeDim / 2
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
