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

    /// Σ a[i]·b[i] over floats and halves, four accumulators as `dot`.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, halves b: UnsafePointer<Float16>, count: Int) -> Float {
        let pa = UnsafeRawPointer(a)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= count {
            acc0.addProduct(pa.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), loadHalves(b + i))
            acc1.addProduct(pa.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD8<Float>.self), loadHalves(b + i + 8))
            acc2.addProduct(pa.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD8<Float>.self), loadHalves(b + i + 16))
            acc3.addProduct(pa.loadUnaligned(fromByteOffset: 4 * (i + 24), as: SIMD8<Float>.self), loadHalves(b + i + 24))
            i += 32
        }
        while i + 8 <= count {
            acc0.addProduct(pa.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), loadHalves(b + i))
            i += 8
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < count { sum += a[i] * Float(b[i]); i += 1 }  // tail: fewer than 8 left
        return sum
    }

    /// y[i] += s · x[i], x in halves.
    @inlinable
    public static func addScaled(halves x: UnsafePointer<Float16>, scale s: Float, into y: UnsafeMutablePointer<Float>,
                                 count: Int) {
        let py = UnsafeMutableRawPointer(y)
        let vs = SIMD8<Float>(repeating: s)
        var i = 0
        while i + 8 <= count {
            var v = py.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            v.addProduct(loadHalves(x + i), vs)
            py.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { y[i] += s * Float(x[i]); i += 1 }
    }
}
