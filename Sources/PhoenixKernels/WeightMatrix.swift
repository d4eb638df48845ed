import PhoenixQuant

/// A weight matrix in one of the GGUF formats, read in place (usually from a memory-mapped file).
///
/// `rows` output features, each a row of `columns` input weights stored contiguously in `type`'s blocks:
/// the GGUF tensor [ne0 = columns, ne1 = rows]; or, for `WeightLayout.q5_0RowPairs`, the same bytes
/// rearranged a pair of rows at a time. The memory must outlive the matrix; its owner keeps it.
public struct WeightMatrix: @unchecked Sendable {
    public let type: QuantType
    public let rows: Int
    public let columns: Int
    public let base: UnsafeRawPointer
    public let rowBytes: Int
    public let layout: WeightLayout

    /// `bytes` must hold exactly `rows` rows of `columns` weights of `type`; `columns` a whole number of
    /// blocks. A layout other than `.gguf` must suit the type (`WeightLayout.q5_0RowPairs`: Q5_0, on
    /// x86-64, whose kernels read it).
    public init(type: QuantType, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer, layout: WeightLayout = .gguf) {
        let rowBytes = type.byteCount(forWeights: columns)
        precondition(rowBytes != nil && rowBytes! * rows == bytes.count, "WeightMatrix: \(rows)x\(columns) \(type) needs other byte count")
        precondition(layout == .gguf || (type == .q5_0 && WeightLayout.rowPairsSupported), "WeightMatrix: no \(layout) layout for \(type) here")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        self.rowBytes = rowBytes!
        self.layout = layout
    }

    /// Row `r` as float32, written to `out` (which holds `columns` floats).
    @inlinable
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        switch layout {
        case .gguf: Kernels.dequantizeRow(type, base + r * rowBytes, into: out, count: columns)
        case .q5_0RowPairs: Kernels.Q5_0RowPairs.dequantizeRow(self, r, into: out)
        }
    }
}

/// How a `WeightMatrix` holds its rows.
public enum WeightLayout: Sendable, Equatable {
    /// As in the GGUF file: row after row, each its blocks in order.
    case gguf
    /// Q5_0 rows a pair at a time, block by block, arranged for the 512-bit decode kernel
    /// (`Kernels.Q5_0RowPairs`).
    case q5_0RowPairs

    /// Whether this build's kernels read `q5_0RowPairs` (x86-64 only).
    public static var rowPairsSupported: Bool {
        #if arch(x86_64)
        true
        #else
        false
        #endif
    }
}
