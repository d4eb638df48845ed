import PhoenixQuant

extension Reference {
    /// The definition of `Kernels.matmul`: dequantize everything, then multiply in double precision.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int,
                              into out: UnsafeMutablePointer<Float>, outStride: Int? = nil) {
        let stride = outStride ?? w.rows
        var row = [Float](repeating: 0, count: w.columns)
        for r in 0..<w.rows {
            row.withUnsafeMutableBufferPointer { w.dequantizeRow(r, into: $0.baseAddress!) }
            for t in 0..<tokens {
                var sum: Double = 0
                for c in 0..<w.columns { sum += Double(row[c]) * Double(x[t * w.columns + c]) }
                out[t * stride + r] = Float(sum)
            }
        }
    }
}
