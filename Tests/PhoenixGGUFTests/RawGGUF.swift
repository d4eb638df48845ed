/// Hand-assembled GGUF bytes, for tests that need files the writer would refuse to produce.
struct RawGGUF {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }

    /// Header with the given counts.
    static func header(version: UInt32 = 3, tensors: UInt64, metadata: UInt64) -> RawGGUF {
        var raw = RawGGUF()
        raw.bytes = Array("GGUF".utf8)
        raw.u32(version)
        raw.u64(tensors)
        raw.u64(metadata)
        return raw
    }

    /// One tensor info.
    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dims.count))
        dims.forEach { u64($0) }
        u32(type)
        u64(offset)
    }
}
