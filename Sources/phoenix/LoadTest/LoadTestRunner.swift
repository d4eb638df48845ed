import AsyncHTTPClient
import Foundation

/// Everything `phoenix loadtest` was asked to do.
struct LoadTestSettings: Sendable {
    var url: String
    var requests: Int
    var concurrency: Int
    var promptTokens: Int
    var maxTokens: Int
    var sharedPrefixTokens: Int
    var model: String?
    var ttftSloMs: Double?
    var tpotSloMs: Double?
    var apiKey: String?
    var seed: UInt64
}

enum LoadTestRunner {
    /// Sends `settings.requests` streamed completions, keeping exactly `settings.concurrency` in flight
    /// until all are sent, and reports what they measured.
    static func run(_ settings: LoadTestSettings) async throws -> LoadTestReport {
        var configuration = HTTPClient.Configuration()
        // AsyncHTTPClient opens at most 8 connections per host by default: that would cap the concurrency.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, settings.concurrency)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let report = try await run(settings, http: http)
            try await http.shutdown()
            return report
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private static func run(_ settings: LoadTestSettings, http: HTTPClient) async throws -> LoadTestReport {
        let baseURL = settings.url.hasSuffix("/") ? String(settings.url.dropLast()) : settings.url
        let client = LoadTestClient(http: http, baseURL: baseURL, apiKey: settings.apiKey)
        let model: String
        if let named = settings.model { model = named } else { model = try await client.firstModel() }
        let prompts = LoadTestPrompts(promptTokens: settings.promptTokens, sharedPrefixTokens: settings.sharedPrefixTokens,
                                      seed: settings.seed)

        let clock = ContinuousClock()
        let start = clock.now
        let results = await withTaskGroup(of: Result<RequestMeasurement, RequestFailure>.self) { group in
            var sent = 0
            func send() {
                let prompt = prompts.prompt(index: sent)
                sent += 1
                group.addTask {
                    do {
                        return .success(try await client.complete(prompt: prompt, model: model, maxTokens: settings.maxTokens))
                    } catch let failure as RequestFailure {
                        return .failure(failure)
                    } catch {
                        return .failure(RequestFailure(description: "\(error)"))
                    }
                }
            }
            while sent < min(settings.concurrency, settings.requests) { send() }
            var results: [Result<RequestMeasurement, RequestFailure>] = []
            for await result in group {
                results.append(result)
                if sent < settings.requests { send() }
            }
            return results
        }
        return LoadTestReport(settings: settings, model: model, results: results, durationSeconds: (clock.now - start).seconds)
    }
}
