import PhoenixEngine

/// Time to first token and time per output token of one request, measured where the client sees them:
/// from the moment the request arrived to each token event leaving the engine.
struct TokenTiming: Sendable {
    private let clock = ContinuousClock()
    private let arrival: ContinuousClock.Instant
    private(set) var timeToFirstToken: Duration?
    /// Per choice: first and latest token time and the tokens seen.
    private var choices: [Int: (first: ContinuousClock.Instant, last: ContinuousClock.Instant, count: Int)] = [:]

    init(arrival: ContinuousClock.Instant) { self.arrival = arrival }

    mutating func observe(_ event: ServingEvent) {
        guard case .token(let choice, _) = event else { return }
        let now = clock.now
        if timeToFirstToken == nil { timeToFirstToken = now - arrival }
        if let seen = choices[choice] {
            choices[choice] = (seen.first, now, seen.count + 1)
        } else {
            choices[choice] = (now, now, 1)
        }
    }

    /// Mean time between tokens after the first, one figure per choice that made at least two tokens.
    var timesPerOutputToken: [Duration] {
        choices.values.filter { $0.count > 1 }.map { ($0.last - $0.first) / ($0.count - 1) }
    }

    func record(into metrics: ServerMetrics) {
        if let timeToFirstToken { metrics.recordTimeToFirstToken(timeToFirstToken) }
        for duration in timesPerOutputToken { metrics.recordTimePerOutputToken(duration) }
    }
}
