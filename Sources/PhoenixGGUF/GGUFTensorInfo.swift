import PhoenixQuant

/// Where one tensor lives in a GGUF file and what it holds.
public struct GGUFTensorInfo: Sendable, Equatable {
    public static let maximumDimensions = 4

    public var name: String
    /// ggml order: `dimensions[0]` (ne0) varies fastest. A [640, 262144] embedding is 262,144 rows of 640.
    public var dimensions: [Int]
    public var type: QuantType
    /// Offset from the start of the data section.
    public var offset: Int
    public var elementCount: Int
    public var byteCount: Int

    public init(name: String, dimensions: [Int], type: QuantType, offset: Int, elementCount: Int, byteCount: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
        self.elementCount = elementCount
        self.byteCount = byteCount
    }

    /// Elements per row (ne0) and row count (the product of the other dimensions).
    public var rowLength: Int { dimensions.first ?? 1 }
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
}
