import ArgumentParser
import Foundation

struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Measure an OpenAI-compatible server (phoenix serve, llama-server) under concurrent streamed requests.",
        discussion: """
            Sends --requests streamed /v1/completions requests (temperature 0, ignore_eos, --max-tokens \
            each), keeping exactly --concurrency of them in flight until all are sent. Prompts are common \
            words, about one token each; the first --shared-prefix-tokens of them are the same in every \
            request. Reports requests ok and failed, wall time, output tokens/s, requests/s, time to \
            first token (TTFT) and time per output token (TPOT) percentiles, and goodput: completed \
            requests per second that met --ttft-slo-ms and --tpot-slo-ms. With --json, prints one JSON \
            object with the keys requests, completed, failed, concurrency, duration_s, output_tokens, \
            output_tokens_per_second, requests_per_second, ttft_ms {p50,p90,p99}, tpot_ms {p50,p90,p99}, \
            goodput_rps, errors and the settings.
            """)

    @Option(help: "The server's base URL, such as http://127.0.0.1:8080.")
    var url: String

    @Option(help: "Requests to send in all.")
    var requests: Int

    @Option(help: "Requests kept in flight at once.")
    var concurrency: Int

    @Option(help: "About how many tokens each prompt has.")
    var promptTokens = 128

    @Option(help: "Tokens each request generates.")
    var maxTokens = 64

    @Option(help: "Tokens at the start of every prompt that are the same in all requests.")
    var sharedPrefixTokens = 0

    @Option(help: "The model to ask for (default: the first that GET /v1/models lists).")
    var model: String?

    @Option(help: "Time-to-first-token objective for goodput, in milliseconds.")
    var ttftSloMs: Double?

    @Option(help: "Time-per-output-token objective for goodput, in milliseconds.")
    var tpotSloMs: Double?

    @Option(help: ArgumentHelp("Sent as 'Authorization: Bearer KEY'. Default: $PHOENIX_API_KEY.", valueName: "key"))
    var apiKey: String?

    @Option(help: "Seed of the prompts' words: the same seed sends the same prompts.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object instead of the text report.")
    var json = false

    func validate() throws {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw ValidationError("--url must be an http:// or https:// URL, such as http://127.0.0.1:8080")
        }
        if requests < 1 { throw ValidationError("--requests must be at least 1") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if promptTokens < 1 { throw ValidationError("--prompt-tokens must be at least 1") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if sharedPrefixTokens < 0 || sharedPrefixTokens > promptTokens {
            throw ValidationError("--shared-prefix-tokens must be from 0 to --prompt-tokens")
        }
        if let ttftSloMs, !(ttftSloMs > 0) { throw ValidationError("--ttft-slo-ms must be greater than 0") }
        if let tpotSloMs, !(tpotSloMs > 0) { throw ValidationError("--tpot-slo-ms must be greater than 0") }
    }

    func run() async throws {
        let environmentKey = ProcessInfo.processInfo.environment["PHOENIX_API_KEY"]
        let settings = LoadTestSettings(
            url: url, requests: requests, concurrency: concurrency, promptTokens: promptTokens, maxTokens: maxTokens,
            sharedPrefixTokens: sharedPrefixTokens, model: model, ttftSloMs: ttftSloMs, tpotSloMs: tpotSloMs,
            apiKey: apiKey ?? (environmentKey?.isEmpty == false ? environmentKey : nil), seed: seed)
        let report: LoadTestReport
        do {
            report = try await LoadTestRunner.run(settings)
        } catch {
            throw CommandError("loadtest: \(error)")
        }
        if json { try printJSON(report) } else { print(report.text) }
        if report.completed == 0 { throw ExitCode.failure }
    }
}
