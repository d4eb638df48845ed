/// A bounds-checked little-endian cursor over untrusted bytes. Every read checks the remaining length
/// first and throws `GGUFError.truncated` naming the section being read, so no read can leave the buffer.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0
    /// The part of the file being read, for error messages ("header", "metadata key 3", ...).
    var section = "header"

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func require(_ count: Int) throws {
        guard count >= 0, count <= remaining else {
            throw GGUFError.truncated(section: section, offset: offset, needed: count, fileSize: bytes.count)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try require(MemoryLayout<T>.size)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }

    mutating func readBool() throws -> Bool {
        let start = offset
        let byte = try read(UInt8.self)
        guard byte <= 1 else {
            throw GGUFError.typeMismatch(key: "\(section) at offset \(start)", expected: "bool 0 or 1", found: "\(byte)")
        }
        return byte == 1
    }

    /// A GGUF string: u64 length, then that many UTF-8 bytes (no terminator).
    mutating func readString(what: String) throws -> String {
        let start = offset
        let length = try read(UInt64.self)
        guard length <= UInt64(remaining) else { throw GGUFError.stringTooLong(length: length, offset: start) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)])
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw GGUFError.invalidUTF8(what: what, offset: start)
        }
        offset += Int(length)
        return string
    }

    /// `count` fixed-width little-endian values in one copy.
    mutating func readArray<T: FixedWidthInteger>(_: T.Type, count: Int) throws -> [T] {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard !overflow else { throw GGUFError.countTooLarge(what: "array", count: UInt64(count), offset: offset) }
        try require(byteCount)
        let base = offset
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                buffer[i] = T(littleEndian: bytes.loadUnaligned(fromByteOffset: base + i * MemoryLayout<T>.size, as: T.self))
            }
            initialized = count
        }
        offset += byteCount
        return values
    }

    /// Skips forward to the next multiple of `alignment` (a power of two).
    mutating func align(to alignment: Int) throws {
        let padded = (offset + alignment - 1) / alignment * alignment
        try require(padded - offset)
        offset = padded
    }
}
