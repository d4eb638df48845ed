/// A map from token bytes to token id, looked up by a byte range of a buffer so the merge loops never
/// build a `String`. Open addressing with linear probing over FNV-1a hashes; capacity is a power of two
/// at least twice the token count. When two tokens share a text the later id wins, as in llama.cpp.
/// Immutable after `init`, so `Sendable`. Lookup cost: one hash of the key plus a byte compare.
struct TokenTable: Sendable {
    private var bytes: [UInt8] = []  // every token's bytes, back to back
    private var starts: [Int] = [0]  // token i is bytes[starts[i]..<starts[i + 1]]
    private var slots: [Int32]       // token id, or -1 for an empty slot
    private let mask: Int

    init(_ texts: [[UInt8]]) {
        var capacity = 16
        while capacity < 2 * texts.count { capacity *= 2 }
        mask = capacity - 1
        slots = Array(repeating: -1, count: capacity)
        bytes.reserveCapacity(texts.reduce(0) { $0 + $1.count })
        starts.reserveCapacity(texts.count + 1)
        for text in texts {
            bytes += text
            starts.append(bytes.count)
        }
        for id in texts.indices {
            var slot = Self.hash(bytes, from: starts[id], count: starts[id + 1] - starts[id]) & mask
            while slots[slot] >= 0 {
                let other = Int(slots[slot])
                if equal(other, bytes, from: starts[id], count: starts[id + 1] - starts[id]) { break }
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(id)
        }
    }

    /// The id of the token whose bytes are `buffer[start..<start + count]`, or nil.
    func id(_ buffer: [UInt8], from start: Int, count: Int) -> Int32? {
        var slot = Self.hash(buffer, from: start, count: count) & mask
        while true {
            let id = slots[slot]
            if id < 0 { return nil }
            if equal(Int(id), buffer, from: start, count: count) { return id }
            slot = (slot + 1) & mask
        }
    }

    func id(_ text: [UInt8]) -> Int32? { id(text, from: 0, count: text.count) }

    /// The bytes of token `id`.
    func text(_ id: Int) -> ArraySlice<UInt8> { bytes[starts[id]..<starts[id + 1]] }

    private func equal(_ id: Int, _ buffer: [UInt8], from start: Int, count: Int) -> Bool {
        let base = starts[id]
        guard starts[id + 1] - base == count else { return false }
        for i in 0..<count where bytes[base + i] != buffer[start + i] { return false }
        return true
    }

    private static func hash(_ buffer: [UInt8], from start: Int, count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a offset basis
        for i in start..<(start + count) { h = (h ^ UInt64(buffer[i])) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
