import Foundation

/// The 50th, 90th and 99th percentiles of a set of durations, in milliseconds.
struct Percentiles: Encodable, Equatable {
    var p50 = 0.0, p90 = 0.0, p99 = 0.0

    /// Nearest-rank percentiles of `seconds`; all zero when there are none.
    init(seconds: [Double]) {
        let sorted = seconds.sorted()
        guard !sorted.isEmpty else { return }
        func rank(_ p: Double) -> Double {
            sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))] * 1000
        }
        (p50, p90, p99) = (rank(0.5), rank(0.9), rank(0.99))
    }
}

/// The result of `phoenix loadtest`. Its `--json` form (snake_case keys) is read by scripts, so its keys are fixed.
struct LoadTestReport: Encodable {
    var url: String
    var model: String
    var requests: Int
    var completed: Int
    var failed: Int
    var concurrency: Int
    var promptTokens: Int
    var sharedPrefixTokens: Int
    var maxTokens: Int
    /// Mean prompt length as the server counted it, when it reported usage.
    var promptTokensMeasured: Double?
    var durationS: Double
    var outputTokens: Int
    var outputTokensPerSecond: Double
    var requestsPerSecond: Double
    var ttftMs: Percentiles
    var tpotMs: Percentiles
    var ttftSloMs: Double?
    var tpotSloMs: Double?
    /// Completed requests per second that met both service-level objectives (each one met when not given).
    var goodputRps: Double
    /// The first few failures' messages.
    var errors: [String]

    static let errorsKept = 5

    init(settings: LoadTestSettings, model: String, results: [Result<RequestMeasurement, RequestFailure>],
         durationSeconds: Double) {
        let measurements = results.compactMap { try? $0.get() }
        url = settings.url
        self.model = model
        requests = results.count
        completed = measurements.count
        failed = results.count - measurements.count
        concurrency = settings.concurrency
        promptTokens = settings.promptTokens
        sharedPrefixTokens = settings.sharedPrefixTokens
        maxTokens = settings.maxTokens
        let counted = measurements.compactMap(\.promptTokens)
        promptTokensMeasured = counted.isEmpty ? nil : Double(counted.reduce(0, +)) / Double(counted.count)
        durationS = durationSeconds
        outputTokens = measurements.map(\.outputTokens).reduce(0, +)
        let perSecond = durationSeconds > 0 ? 1 / durationSeconds : 0
        outputTokensPerSecond = Double(outputTokens) * perSecond
        requestsPerSecond = Double(completed) * perSecond
        ttftMs = Percentiles(seconds: measurements.map(\.timeToFirstTokenSeconds))
        tpotMs = Percentiles(seconds: measurements.compactMap(\.timePerOutputTokenSeconds))
        ttftSloMs = settings.ttftSloMs
        tpotSloMs = settings.tpotSloMs
        let good = measurements.filter { measurement in
            let ttftMet = settings.ttftSloMs.map { measurement.timeToFirstTokenSeconds * 1000 <= $0 } ?? true
            let tpotMet = settings.tpotSloMs.map { limit in
                measurement.timePerOutputTokenSeconds.map { $0 * 1000 <= limit } ?? true
            } ?? true
            return ttftMet && tpotMet
        }
        goodputRps = Double(good.count) * perSecond
        errors = Array(results.compactMap { result -> String? in
            if case .failure(let failure) = result { return failure.description }
            return nil
        }.prefix(Self.errorsKept))
    }

    var text: String {
        func ms(_ p: Percentiles) -> String { String(format: "p50 %.1f  p90 %.1f  p99 %.1f ms", p.p50, p.p90, p.p99) }
        var lines = [
            "server        \(url)  model \(model)",
            "requests      \(completed) ok, \(failed) failed of \(requests), concurrency \(concurrency)",
            String(format: "wall time     %.2f s", durationS),
            String(format: "output        %d tokens, %.1f tokens/s", outputTokens, outputTokensPerSecond),
            String(format: "requests/s    %.2f", requestsPerSecond),
            "TTFT          \(ms(ttftMs))",
            "TPOT          \(ms(tpotMs))",
        ]
        if let promptTokensMeasured {
            lines.append(String(format: "prompt        %.1f tokens on average as the server counted (asked for %d)",
                                promptTokensMeasured, promptTokens))
        }
        let slo = [ttftSloMs.map { String(format: "TTFT <= %.0f ms", $0) }, tpotSloMs.map { String(format: "TPOT <= %.0f ms", $0) }]
            .compactMap { $0 }
        lines.append(String(format: "goodput       %.2f requests/s", goodputRps)
                     + (slo.isEmpty ? " (no SLO given: every completed request counts)" : " meeting " + slo.joined(separator: " and ")))
        if !errors.isEmpty {
            lines.append("first errors:")
            lines += errors.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
