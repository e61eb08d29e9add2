import Prometheus
import Tailor

/// The server's Prometheus metrics, served as text at `GET /metrics`.
///
/// Counters and histograms are updated as requests run; the gauges (queue depth, running batch
/// size, KV-cache bytes) are read from the scheduler when scraped.
public final class ServerMetrics: Sendable {
    /// The registry every metric lives in.
    public let registry: PrometheusCollectorRegistry
    let promptTokens: Counter
    let generatedTokens: Counter
    let timeToFirstToken: DurationHistogram
    let interTokenLatency: DurationHistogram
    let requestDuration: DurationHistogram
    let queueDepth: Gauge
    let runningSequences: Gauge
    let kvCacheBytes: Gauge
    let decodeSteps: Gauge

    /// Metrics in a fresh registry (or `registry`).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let latency: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                   .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]
        promptTokens = registry.makeCounter(name: "tailor_prompt_tokens_total", help: "Prompt tokens of accepted requests.")
        generatedTokens = registry.makeCounter(name: "tailor_generated_tokens_total", help: "Tokens generated.")
        timeToFirstToken = registry.makeDurationHistogram(
            name: "tailor_time_to_first_token_seconds", buckets: latency,
            help: "From a request's arrival to its first generated token (queueing and prefill included).")
        interTokenLatency = registry.makeDurationHistogram(
            name: "tailor_inter_token_latency_seconds", buckets: latency,
            help: "Between consecutive generated tokens of one sequence.")
        requestDuration = registry.makeDurationHistogram(
            name: "tailor_request_duration_seconds", buckets: latency, help: "From arrival to the last token.")
        queueDepth = registry.makeGauge(name: "tailor_queue_depth", help: "Requests waiting for a place in the batch.")
        runningSequences = registry.makeGauge(name: "tailor_running_sequences", help: "Sequences in the running batch.")
        kvCacheBytes = registry.makeGauge(name: "tailor_kv_cache_bytes", help: "Bytes held by the running batch's KV cache.")
        decodeSteps = registry.makeGauge(name: "tailor_decode_steps", help: "Batched decode steps run so far.")
    }

    /// Counts a finished request by endpoint and HTTP status.
    func countRequest(endpoint: String, status: Int) {
        registry.makeCounter(name: "tailor_requests_total", labels: [("endpoint", endpoint), ("status", String(status))],
                             help: "HTTP requests by endpoint and status.").increment()
    }

    /// The exposition text, with the gauges refreshed from `statistics`.
    func render(_ statistics: BatchStatistics) -> String {
        queueDepth.set(Double(statistics.queuedRequests))
        runningSequences.set(Double(statistics.runningSequences))
        kvCacheBytes.set(Double(statistics.kvCacheBytes))
        decodeSteps.set(Double(statistics.decodeSteps))
        return registry.emitToString()
    }
}
