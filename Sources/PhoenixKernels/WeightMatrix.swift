import PhoenixQuant

/// A weight matrix in one of the GGUF formats, read in place (usually from a memory-mapped file).
///
/// `rows` output features, each a row of `columns` input weights stored contiguously in `type`'s blocks:
/// the GGUF tensor [ne0 = columns, ne1 = rows]. The memory must outlive the matrix; its owner keeps it.
public struct WeightMatrix: @unchecked Sendable {
    public let type: QuantType
    public let rows: Int
    public let columns: Int
    public let base: UnsafeRawPointer
    public let rowBytes: Int

    /// `bytes` must hold exactly `rows` rows of `columns` weights of `type`; `columns` a whole number of blocks.
    public init(type: QuantType, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer) {
        let rowBytes = type.byteCount(forWeights: columns)
        precondition(rowBytes != nil && rowBytes! * rows == bytes.count, "WeightMatrix: \(rows)x\(columns) \(type) needs other byte count")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        self.rowBytes = rowBytes!
    }

    /// The bytes of row `r`.
    @inlinable
    public func row(_ r: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + r * rowBytes, count: rowBytes)
    }

    /// Row `r` as float32, written to `out` (which holds `columns` floats).
    @inlinable
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        Kernels.dequantizeRow(type, base + r * rowBytes, into: out, count: columns)
    }
}
