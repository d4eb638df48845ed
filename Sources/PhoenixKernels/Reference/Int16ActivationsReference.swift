extension Reference {
    /// The definition of `Kernels.quantizeInt16Block`: one block of 32, q = round(x · 32767 / max|x|),
    /// to nearest even, and scale = max|x| / 32767. An all-zero (or all-subnormal) block has scale 0; a
    /// block holding an infinity or NaN gets scale NaN and q = 0, so every product with it is NaN, as
    /// in float arithmetic, instead of a trap or a garbage integer.
    public static func quantizeInt16Block(_ x: UnsafePointer<Float>, into q: UnsafeMutablePointer<Int16>) -> (scale: Float, sum: Int32) {
        var largest: Float = 0
        for i in 0..<32 { largest = max(largest, abs(x[i])) }
        for i in 0..<32 where x[i].isNaN { largest = .nan }
        guard largest.isFinite, largest > 0 else {
            q.update(repeating: 0, count: 32)
            return (largest == 0 ? 0 : .nan, 0)
        }
        let inverse = 32767 / largest
        guard inverse.isFinite else {  // only subnormal values: below 1e-38, taken as zeros
            q.update(repeating: 0, count: 32)
            return (0, 0)
        }
        var sum: Int32 = 0
        for i in 0..<32 {
            let value = min(max((x[i] * inverse).rounded(.toNearestOrEven), -32767), 32767)
            q[i] = Int16(value)
            sum += Int32(q[i])
        }
        return (largest / 32767, sum)
    }
}
