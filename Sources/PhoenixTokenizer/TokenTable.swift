/// A map from token bytes to token id, looked up by a byte range of a buffer so the merge loops never
/// build a `String`. Open addressing with linear probing over FNV-1a hashes; capacity is a power of two
/// at least twice the token count. Each slot keeps 32 bits of the hash beside the id, so a miss rarely
/// touches the token bytes (a 262,144-token table does not fit in cache; most merge-loop lookups miss).
/// When two tokens share a text the later id wins, as in llama.cpp. Immutable after `init`, so `Sendable`.
struct TokenTable: Sendable {
    private var bytes: [UInt8] = []  // every token's bytes, back to back
    private var starts: [Int] = [0]  // token i is bytes[starts[i]..<starts[i + 1]]
    private var slots: [UInt64]      // hash high 32 bits << 32 | (token id + 1); 0 for an empty slot
    private var filter: [UInt64]     // one bit per 2^21 hash values: a 256 KB, cache-resident first test
    private let mask: Int

    /// The table of `tokens`, stored as UTF-8. An empty token is stored as `[EMPTY_<id>]`, as llama.cpp
    /// renames it, so that none can match empty text. The bytes are copied straight from the strings: a
    /// byte array per token first made loading a 262,144-token vocabulary peak 10 MB higher.
    init(_ tokens: [String]) {
        var capacity = 16
        while capacity < 2 * tokens.count { capacity *= 2 }
        mask = capacity - 1
        slots = Array(repeating: 0, count: capacity)
        filter = Array(repeating: 0, count: Self.filterBits / 64)
        bytes.reserveCapacity(tokens.reduce(0) { $0 + $1.utf8.count })
        starts.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            if token.isEmpty { bytes += "[EMPTY_\(id)]".utf8 } else { bytes += token.utf8 }
            starts.append(bytes.count)
        }
        for id in tokens.indices {
            let hash = Self.hash(bytes, from: starts[id], count: starts[id + 1] - starts[id])
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 {
                let other = Int(slots[slot] & 0xFFFF_FFFF) - 1
                if equal(other, bytes, from: starts[id], count: starts[id + 1] - starts[id]) { break }
                slot = (slot + 1) & mask
            }
            slots[slot] = hash & 0xFFFF_FFFF_0000_0000 | UInt64(id + 1)
            let bit = Self.filterBit(hash)
            filter[bit >> 6] |= 1 << UInt64(bit & 63)
        }
    }

    /// How many tokens the table holds.
    var count: Int { starts.count - 1 }

    /// The id of the token whose bytes are `buffer[start..<start + count]`, or nil.
    func id(_ buffer: [UInt8], from start: Int, count: Int) -> Int32? {
        let hash = Self.hash(buffer, from: start, count: count)
        let bit = Self.filterBit(hash)
        guard filter[bit >> 6] & (1 << UInt64(bit & 63)) != 0 else { return nil }
        let fingerprint = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            if entry & 0xFFFF_FFFF_0000_0000 == fingerprint {
                let id = Int(entry & 0xFFFF_FFFF) - 1
                if equal(id, buffer, from: start, count: count) { return Int32(id) }
            }
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

    private static let filterBits = 1 << 21

    private static func filterBit(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 40) & (filterBits - 1) }

    private static func hash(_ buffer: [UInt8], from start: Int, count: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a offset basis
        for i in start..<(start + count) { h = (h ^ UInt64(buffer[i])) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }
}
