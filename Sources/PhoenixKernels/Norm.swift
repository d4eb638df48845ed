extension Kernels {
    /// RMSNorm of one row: out[i] = x[i] / sqrt(mean(x²) + eps) · weight[i] (weight as the file stores it;
    /// Gemma's files already hold 1 + γ). `out` may be `x`.
    @inlinable
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float, count: Int,
                               into out: UnsafeMutablePointer<Float>) {
        let scale = 1 / (dot(x, x, count: count) / Float(count) + eps).squareRoot()
        var i = 0
        let px = UnsafeRawPointer(x), pw = UnsafeRawPointer(weight), po = UnsafeMutableRawPointer(out)
        let vs = SIMD8<Float>(repeating: scale)
        while i + 8 <= count {
            let v = px.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * vs
                * pw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            po.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { out[i] = x[i] * scale * weight[i]; i += 1 }
    }
}
