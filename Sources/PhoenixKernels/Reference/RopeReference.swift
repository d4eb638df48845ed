#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Reference {
    /// Kernels.rope in double precision, one pair at a time: (x_a, x_b) turns by position / positionScale · θ_i
    /// and is scaled by the magnitude.
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int,
                            _ frequencies: RopeFrequencies) {
        let half = frequencies.ropeDim / 2
        for h in 0..<heads {
            for i in 0..<half {
                let (a, b) = frequencies.style == .interleaved ? (h * headDim + 2 * i, h * headDim + 2 * i + 1)
                                                               : (h * headDim + i, h * headDim + i + half)
                let angle = Double(position) / frequencies.positionScale * frequencies.inverseFrequencies[i]
                let (x0, x1) = (Double(x[a]), Double(x[b]))
                x[a] = Float((x0 * cos(angle) - x1 * sin(angle)) * frequencies.magnitude)
                x[b] = Float((x0 * sin(angle) + x1 * cos(angle)) * frequencies.magnitude)
            }
        }
    }
}
