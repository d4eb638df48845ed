extension Kernels {
    /// Q5_0 rows rearranged a pair at a time for the 512-bit decode kernel (`WideKernels.q5_0RowPairs`).
    /// Each pair of rows keeps its two rows' bytes (2 · rowBytes) and holds them block by block, 44 bytes
    /// a block:
    ///
    ///     0   fp16 d of the first row, then of the second
    ///     4   32 bits: bit m set where the first row's code 2m has its fifth bit clear; bit 16 + m the
    ///         same for the second row's code 2m
    ///     8   the same for the odd positions 2m + 1
    ///     12  16 bytes of the first row: byte m = nibble of code 2m | nibble of code 2m + 1 << 4
    ///     28  16 bytes of the second row
    ///
    /// An odd last row stays as it was, after the pairs. The codes and scales are GGUF's, so every
    /// product gives the same bits as from the file's layout.
    ///
    /// Why: in GGUF's layout (the low nibbles weights 0..<16, the high ones 16..<32, the fifth bits in
    /// position order) the 512-bit kernel spent seven of its fourteen vector instructions per block and
    /// pair of rows making 16-bit lanes of the codes. Here a byte per neighbouring pair of codes widens to
    /// both rows' even and odd lanes with one widening, one mask and one shift, and the fifth bits, in
    /// the lanes' order, are two masked subtractions (five instructions).
    public enum Q5_0RowPairs {
        static let pairBlockBytes = 44

        /// Rearranges `rows` Q5_0 rows of `rowBytes` bytes at `source` into `target` (as many bytes).
        public static func repack(_ source: UnsafeRawPointer, rows: Int, rowBytes: Int, into target: UnsafeMutableRawPointer) {
            let blocks = rowBytes / 22
            for p in 0..<rows / 2 {
                let first = source + 2 * p * rowBytes, pair = target + 2 * p * rowBytes
                for b in 0..<blocks {
                    let out = pair + pairBlockBytes * b
                    var evenClear: UInt32 = 0, oddClear: UInt32 = 0
                    for half in 0..<2 {
                        let block = first + half * rowBytes + 22 * b, nibbles = block + 6
                        out.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * half, as: UInt16.self)
                        let clear = ~block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                        evenClear |= evenBits(clear) << (16 * half)
                        oddClear |= evenBits(clear >> 1) << (16 * half)
                        // Codes 0..<16 are the low nibbles of GGUF's 16 bytes, 16..<32 the high ones.
                        @inline(__always) func byte(_ i: Int) -> UInt8 { nibbles.load(fromByteOffset: i, as: UInt8.self) }
                        for m in 0..<8 {
                            out.storeBytes(of: byte(2 * m) & 0x0F | byte(2 * m + 1) << 4, toByteOffset: 12 + 16 * half + m, as: UInt8.self)
                            out.storeBytes(of: byte(2 * m) >> 4 | byte(2 * m + 1) & 0xF0, toByteOffset: 20 + 16 * half + m, as: UInt8.self)
                        }
                    }
                    out.storeBytes(of: evenClear, toByteOffset: 4, as: UInt32.self)
                    out.storeBytes(of: oddClear, toByteOffset: 8, as: UInt32.self)
                }
            }
            if rows % 2 == 1 {
                (target + (rows - 1) * rowBytes).copyMemory(from: source + (rows - 1) * rowBytes, byteCount: rowBytes)
            }
        }

        /// Bits 0, 2, 4, ..., 30 of `x` as bits 0..<16.
        @inline(__always)
        static func evenBits(_ x: UInt32) -> UInt32 {
            var x = x & 0x5555_5555
            x = (x | x >> 1) & 0x3333_3333
            x = (x | x >> 2) & 0x0F0F_0F0F
            x = (x | x >> 4) & 0x00FF_00FF
            return (x | x >> 8) & 0x0000_FFFF
        }

        /// Where row `r`'s block `b` lies: its pair's block and which of the two rows it is; nil for an odd
        /// last row, which keeps GGUF's layout.
        @inline(__always)
        static func pairBlock(_ w: WeightMatrix, row r: Int, block b: Int) -> (block: UnsafeRawPointer, second: Bool)? {
            if r == w.rows - 1 && w.rows % 2 == 1 { return nil }
            return (w.base + (r & ~1) * w.rowBytes + pairBlockBytes * b, r & 1 == 1)
        }

        /// Row `r`'s block `b` in GGUF's 22-byte layout, written to `out`.
        static func ggufBlock(_ w: WeightMatrix, row r: Int, block b: Int, into out: UnsafeMutableRawPointer) {
            guard let (block, second) = pairBlock(w, row: r, block: b) else {
                return out.copyMemory(from: w.base + r * w.rowBytes + 22 * b, byteCount: 22)
            }
            let half = second ? 1 : 0
            out.storeBytes(of: block.loadUnaligned(fromByteOffset: 2 * half, as: UInt16.self), as: UInt16.self)
            let evenClear = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self) >> (16 * half)
            let oddClear = block.loadUnaligned(fromByteOffset: 8, as: UInt32.self) >> (16 * half)
            // Code j's nibble: byte j / 2 of the row's 16, low for even j, high for odd.
            @inline(__always) func nibble(_ j: Int) -> UInt8 {
                let byte = block.load(fromByteOffset: 12 + 16 * half + j / 2, as: UInt8.self)
                return j % 2 == 0 ? byte & 0x0F : byte >> 4
            }
            var fifth: UInt32 = 0
            for m in 0..<16 {
                if evenClear >> m & 1 == 0 { fifth |= 1 << (2 * m) }
                if oddClear >> m & 1 == 0 { fifth |= 1 << (2 * m + 1) }
            }
            out.storeBytes(of: fifth, toByteOffset: 2, as: UInt32.self)
            for j in 0..<16 { out.storeBytes(of: nibble(j) | nibble(j + 16) << 4, toByteOffset: 6 + j, as: UInt8.self) }
        }

        /// Row `r` as float32 (not a hot path: the model's embeddings and the float reference use it).
        public static func dequantizeRow(_ w: WeightMatrix, _ r: Int, into out: UnsafeMutablePointer<Float>) {
            withUnsafeTemporaryAllocation(byteCount: 22, alignment: 2) { block in
                for b in 0..<w.columns / 32 {
                    ggufBlock(w, row: r, block: b, into: block.baseAddress!)
                    Kernels.dequantizeRow(.q5_0, UnsafeRawPointer(block.baseAddress!), into: out + 32 * b, count: 32)
                }
            }
        }
    }
}
