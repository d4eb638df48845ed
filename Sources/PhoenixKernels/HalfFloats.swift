#if arch(x86_64)
import CPhoenixX86
#endif

/// IEEE half precision, for KV caches that store keys and values so (`KVPrecision.f16`).
extension Kernels {
    /// Eight halves from `p` as floats: one `vcvtph2ps` on x86 (F16C, part of the Haswell baseline).
    @inlinable @inline(__always)
    public static func loadHalves(_ p: UnsafePointer<Float16>) -> SIMD8<Float> {
        #if arch(x86_64)
        _mm256_cvtph_ps(UnsafeRawPointer(p).loadUnaligned(as: __m128i.self))
        #else
        var x = SIMD8<Float>()
        for i in 0..<8 { x[i] = Float(p[i]) }
        return x
        #endif
    }

    /// y[i] = x[i] rounded to the nearest half (ties to even; beyond ±65,504 to ±∞). A key or value row is
    /// rounded once, when its token is stored.
    @inlinable
    public static func storeHalves(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float16>, count: Int) {
        for i in 0..<count { y[i] = Float16(x[i]) }
    }
}
