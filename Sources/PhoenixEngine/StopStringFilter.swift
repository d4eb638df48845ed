/// Streams generated text while watching for stop strings: text that might be the start of a stop
/// string is held back until it is clearly not, so a stop string is never shown, even in part.
public struct StopStringFilter: Sendable {
    public let stops: [String]
    /// Text released to the consumer so far.
    public private(set) var emitted = ""
    private var pending = ""
    public private(set) var stopped = false

    public init(stops: [String]) { self.stops = stops }

    /// Adds newly decoded text and returns what can be shown now.
    public mutating func push(_ piece: String) -> String {
        guard !stopped else { return "" }
        pending += piece
        if let cut = stops.compactMap({ pending.range(of: $0)?.lowerBound }).min() {
            stopped = true
            return release(String(pending[..<cut]))
        }
        let held = heldBackCount()
        let visible = String(pending.dropLast(held))
        pending = String(pending.suffix(held))
        return release(visible)
    }

    /// Releases whatever is still held back (at the end of a generation).
    public mutating func flush() -> String {
        guard !stopped else { return "" }
        defer { pending = "" }
        return release(pending)
    }

    private mutating func release(_ text: String) -> String {
        emitted += text
        return text
    }

    /// The length of the longest suffix of `pending` that is a proper prefix of some stop string.
    private func heldBackCount() -> Int {
        var longest = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: longest, by: -1)
            where pending.hasSuffix(stop.prefix(length)) {
                longest = length
                break
            }
        }
        return longest
    }
}
