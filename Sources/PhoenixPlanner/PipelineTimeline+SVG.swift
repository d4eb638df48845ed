extension PipelineTimeline {
    /// The timeline as an SVG picture: one lane per device, one box per op coloured by kind (forward blue,
    /// input gradient orange, weight gradient green, combined backward red; second chunks lighter), labelled
    /// with the microbatch, idle time left white, and the bubble rate in the title.
    public func svg(title: String? = nil) -> String {
        let span = ops.joined().map(\.end).max() ?? 1
        let width = 960.0, lane = 28.0, left = 80.0, top = 44.0
        let scale = (width - left - 20) / max(span, 1e-12)
        let height = top + Double(devices) * lane + 50
        func color(_ op: PipelineOp) -> String {
            let second = op.stage >= devices
            switch op.kind {
            case .forward: return second ? "#9ecae1" : "#3182bd"
            case .backward: return second ? "#fdae6b" : "#e6550d"
            case .weight: return second ? "#a1d99b" : "#31a354"
            case .fullBackward: return second ? "#fc9272" : "#de2d26"
            }
        }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(Int(left))\" y=\"24\" font-size=\"15\" font-weight=\"bold\">"
                + (title ?? "\(kind.rawValue): \(devices) stages, \(microbatches) microbatches")
                + " — bubble rate \(String(format: "%.1f%%", bubbleRate * 100))</text>",
        ]
        for d in 0..<devices {
            let y = top + Double(d) * lane
            out.append("<text x=\"8\" y=\"\(y + lane * 0.65)\" font-size=\"12\">device \(d)</text>")
            out.append("<rect x=\"\(left)\" y=\"\(y + 2)\" width=\"\(span * scale)\" height=\"\(lane - 4)\" fill=\"#f4f4f4\"/>")
            for op in ops[d] {
                let x = left + op.start * scale, w = max(0.5, (op.end - op.start) * scale)
                out.append("<rect x=\"\(x)\" y=\"\(y + 2)\" width=\"\(w)\" height=\"\(lane - 4)\" fill=\"\(color(op))\" stroke=\"white\" stroke-width=\"0.5\"><title>\(op.kind.rawValue) microbatch \(op.microbatch) stage \(op.stage)</title></rect>")
                if w >= 12 {
                    out.append("<text x=\"\(x + w / 2)\" y=\"\(y + lane * 0.65)\" font-size=\"10\" fill=\"white\" text-anchor=\"middle\">\(op.microbatch)</text>")
                }
            }
        }
        let legendY = top + Double(devices) * lane + 24
        for (i, (name, fill)) in [("forward", "#3182bd"), ("input gradient (B)", "#e6550d"), ("weight gradient (W)", "#31a354"),
                                  ("backward (B+W)", "#de2d26"), ("idle", "#f4f4f4")].enumerated() {
            let x = left + Double(i) * 160
            out.append("<rect x=\"\(x)\" y=\"\(legendY - 11)\" width=\"14\" height=\"14\" fill=\"\(fill)\" stroke=\"#999\" stroke-width=\"0.5\"/>")
            out.append("<text x=\"\(x + 20)\" y=\"\(legendY)\" font-size=\"12\">\(name)</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
