extension Kernels {
    /// Σ a[i]·b[i]. Four accumulators hide FMA latency.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= count {
            acc0.addProduct(pa.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                            pb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            acc1.addProduct(pa.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD8<Float>.self),
                            pb.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD8<Float>.self))
            acc2.addProduct(pa.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD8<Float>.self),
                            pb.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD8<Float>.self))
            acc3.addProduct(pa.loadUnaligned(fromByteOffset: 4 * (i + 24), as: SIMD8<Float>.self),
                            pb.loadUnaligned(fromByteOffset: 4 * (i + 24), as: SIMD8<Float>.self))
            i += 32
        }
        while i + 8 <= count {
            acc0.addProduct(pa.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                            pb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            i += 8
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < count { sum += a[i] * b[i]; i += 1 }  // tail: fewer than 8 left
        return sum
    }

    /// y[i] += s · x[i].
    @inlinable
    public static func addScaled(_ x: UnsafePointer<Float>, scale s: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        let px = UnsafeRawPointer(x), py = UnsafeMutableRawPointer(y)
        let vs = SIMD8<Float>(repeating: s)
        var i = 0
        while i + 8 <= count {
            var v = py.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            v.addProduct(px.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), vs)
            py.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { y[i] += s * x[i]; i += 1 }
    }
}
