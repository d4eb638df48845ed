import PhoenixQuant

extension Reference {
    /// The definition of `Kernels.fusedDot`: dequantize with the reference dequantizer, then a double-precision dot.
    public static func fusedDot(_ type: QuantType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float? {
        guard Kernels.hasFusedDot(type), let bytes = type.byteCount(forWeights: count) else { return nil }
        let weights = Quantization.dequantize(type, Array(UnsafeRawBufferPointer(start: row, count: bytes)))
        return weights.withUnsafeBufferPointer { dot($0.baseAddress!, x, count: count) }
    }
}
