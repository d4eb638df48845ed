import Metrics
import PhoenixEngine
// Only these two: Prometheus's own Counter and Gauge would clash with swift-metrics' names.
import class Prometheus.PrometheusCollectorRegistry
import struct Prometheus.PrometheusMetricsFactory

/// The server's Prometheus metrics. Each server owns its registry (no global bootstrap), so that several
/// servers can live in one process, as they do in tests.
///
/// Counters and histograms are fed as requests are answered; the gauges copy the engine's
/// `ServingStatistics` when `/metrics` is scraped.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    private let promptTokens: Counter
    private let cachedPromptTokens: Counter
    private let generatedTokens: Counter
    private let timeToFirstToken: Timer
    private let timePerOutputToken: Timer
    private let waitingRequests: Gauge
    private let runningSequences: Gauge
    private let kvBlocksUsed: Gauge
    private let kvBlocksTotal: Gauge
    private let kvBlocksCached: Gauge
    private let prefixCacheHitRate: Gauge

    /// The names /metrics exposes, documented in docs/serving.md.
    enum Name {
        static let requests = "phoenix_requests_total"
        static let promptTokens = "phoenix_prompt_tokens_total"
        static let cachedPromptTokens = "phoenix_cached_prompt_tokens_total"
        static let generatedTokens = "phoenix_generated_tokens_total"
        static let timeToFirstToken = "phoenix_time_to_first_token_seconds"
        static let timePerOutputToken = "phoenix_time_per_output_token_seconds"
        static let waitingRequests = "phoenix_waiting_requests"
        static let runningSequences = "phoenix_running_sequences"
        static let kvBlocksUsed = "phoenix_kv_blocks_used"
        static let kvBlocksTotal = "phoenix_kv_blocks_total"
        static let kvBlocksCached = "phoenix_kv_blocks_cached"
        static let prefixCacheHitRate = "phoenix_prefix_cache_hit_rate"
    }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Seconds; first tokens wait for a prompt's prefill, later ones for one decode step.
        factory.durationHistogramBuckets[Name.timeToFirstToken] =
            [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map { Duration.milliseconds($0 * 1000) }
        factory.durationHistogramBuckets[Name.timePerOutputToken] =
            [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1].map { Duration.milliseconds($0 * 1000) }
        self.factory = factory
        promptTokens = Counter(label: Name.promptTokens, factory: factory)
        cachedPromptTokens = Counter(label: Name.cachedPromptTokens, factory: factory)
        generatedTokens = Counter(label: Name.generatedTokens, factory: factory)
        timeToFirstToken = Timer(label: Name.timeToFirstToken, factory: factory)
        timePerOutputToken = Timer(label: Name.timePerOutputToken, factory: factory)
        waitingRequests = Gauge(label: Name.waitingRequests, factory: factory)
        runningSequences = Gauge(label: Name.runningSequences, factory: factory)
        kvBlocksUsed = Gauge(label: Name.kvBlocksUsed, factory: factory)
        kvBlocksTotal = Gauge(label: Name.kvBlocksTotal, factory: factory)
        kvBlocksCached = Gauge(label: Name.kvBlocksCached, factory: factory)
        prefixCacheHitRate = Gauge(label: Name.prefixCacheHitRate, factory: factory)
    }

    /// One answered request; `status` is the HTTP status it got (a stream counts when its headers go out).
    func countRequest(endpoint: String, status: Int) {
        Counter(label: Name.requests, dimensions: [("endpoint", endpoint), ("status", String(status))], factory: factory)
            .increment()
    }

    func countPrompt(tokens: Int, cachedTokens: Int) {
        promptTokens.increment(by: tokens)
        cachedPromptTokens.increment(by: cachedTokens)
    }

    func countGenerated(tokens: Int) { generatedTokens.increment(by: tokens) }

    func recordTimeToFirstToken(_ duration: Duration) { timeToFirstToken.record(duration: duration) }

    func recordTimePerOutputToken(_ duration: Duration) { timePerOutputToken.record(duration: duration) }

    /// The Prometheus text exposition, with the gauges set from `statistics` first.
    func exposition(refreshedFrom statistics: ServingStatistics) -> String {
        waitingRequests.record(statistics.waitingRequests)
        runningSequences.record(statistics.runningSequences)
        kvBlocksUsed.record(statistics.kvBlocksUsed)
        kvBlocksTotal.record(statistics.kvBlocksTotal)
        kvBlocksCached.record(statistics.kvBlocksCached)
        prefixCacheHitRate.record(statistics.prefixHitRate)
        return registry.emitToString()
    }
}
