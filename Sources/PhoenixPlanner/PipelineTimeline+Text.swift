extension PipelineTimeline {
    /// One row per device, one column per `resolution` time units: F, B, W (or b for a combined backward,
    /// lowercase f/b/w for a chunk of a looped schedule's second half), "." idle. Microbatch numbers are
    /// left out so that rows line up; the SVG labels every op.
    public func text(resolution: Double? = nil) -> String {
        let quantum = resolution ?? (ops.joined().map { $0.end - $0.start }.min() ?? 1)
        let columns = Int((makespan / quantum).rounded(.up))
        var rows: [String] = []
        for (d, deviceOps) in ops.enumerated() {
            var row = Array(repeating: Character("."), count: columns)
            for op in deviceOps {
                let from = Int((op.start / quantum).rounded()), to = max(from + 1, Int((op.end / quantum).rounded()))
                let later = op.stage >= devices            // second chunk of a looped or V placement
                let symbol: Character = switch op.kind {
                case .forward: later ? "f" : "F"
                case .backward: later ? "b" : "B"
                case .weight: later ? "w" : "W"
                case .fullBackward: later ? "x" : "X"
                }
                for c in from..<min(to, columns) { row[c] = symbol }
            }
            rows.append("device \(d)".padding(toLength: 10, withPad: " ", startingAt: 0) + String(row))
        }
        return rows.joined(separator: "\n")
    }
}
