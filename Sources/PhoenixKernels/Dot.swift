/// Dot products and scaled sums of float vectors with rows of floats or halves (`KVRow`): written once,
/// for `Kernels.dot` and `addScaled` and for attention's key and value rows in either precision.
extension KVRow {
    /// Σ query[i] · row[i]. Four accumulators hide FMA latency.
    @inline(__always)
    static func dot(_ query: UnsafePointer<Float>, _ row: UnsafeRawPointer, count: Int) -> Float {
        let q = UnsafeRawPointer(query)
        @inline(__always) func queries(_ c: Int) -> SIMD8<Float> { q.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self) }
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= count {
            acc0.addProduct(queries(i), load(row, i))
            acc1.addProduct(queries(i + 8), load(row, i + 8))
            acc2.addProduct(queries(i + 16), load(row, i + 16))
            acc3.addProduct(queries(i + 24), load(row, i + 24))
            i += 32
        }
        while i + 8 <= count {
            acc0.addProduct(queries(i), load(row, i))
            i += 8
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < count { sum += query[i] * value(row, i); i += 1 }  // tail: fewer than 8 left
        return sum
    }

    /// out[i] += s · row[i].
    @inline(__always)
    static func addScaled(_ row: UnsafeRawPointer, scale s: Float, into out: UnsafeMutablePointer<Float>, count: Int) {
        let o = UnsafeMutableRawPointer(out), vs = SIMD8<Float>(repeating: s)
        var i = 0
        while i + 8 <= count {
            var v = o.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            v.addProduct(load(row, i), vs)
            o.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { out[i] += s * value(row, i); i += 1 }
    }
}

extension Kernels {
    /// Σ a[i]·b[i].
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        FloatRow.dot(a, UnsafeRawPointer(b), count: count)
    }

    /// y[i] += s · x[i].
    public static func addScaled(_ x: UnsafePointer<Float>, scale s: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        FloatRow.addScaled(UnsafeRawPointer(x), scale: s, into: y, count: count)
    }
}
