import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import PhoenixEngine
import Synchronization
@testable import PhoenixServer

/// A vocabulary of whole words: id 0 is BOS, 1 is EOS, the rest are the words below, spaces included.
/// Words it does not know become `<unk>`; `promptLog`, when given, keeps every completion prompt's text.
struct FakeVocabulary: ServedModel {
    static let words = ["<bos>", "<eos>", "Hello", ",", " world", "!", " the", " cat", "\u{00E9}", "<unk>"]
    static let unknownID = 9

    final class PromptLog: Sendable {
        private let texts = Mutex<[String]>([])
        func append(_ text: String) { texts.withLock { $0.append(text) } }
        var all: [String] { texts.withLock { $0 } }
    }

    var promptLog: PromptLog?

    var name: String { "fake-model" }
    var vocabularySize: Int { Self.words.count }
    var contextLength: Int { 64 }

    func encodeCompletionPrompt(_ text: String) -> [Int] {
        promptLog?.append(text)
        return [0] + text.split(separator: " ").map { word in
            Self.words.firstIndex(of: " " + word) ?? Self.words.firstIndex(of: String(word)) ?? Self.unknownID
        }
    }

    func encodeChat(_ messages: [ChatMessage]) throws -> [Int] {
        encodeCompletionPrompt(messages.map { "\($0.role.rawValue) \($0.content)" }.joined(separator: " "))
    }

    func tokenBytes(_ id: Int) -> [UInt8] { Self.words.indices.contains(id) ? Array(Self.words[id].utf8) : [] }
}

/// A `ServingBackend` that answers from a script, refuses on demand, or streams until it is cancelled;
/// it records what it was asked and when its streams ended.
final class FakeBackend: ServingBackend {
    enum Behavior: Sendable {
        /// Each choice streams "Hello", ",", " world", "!" (up to max_tokens), then ends with EOS (or length).
        case script
        /// `submit` throws this.
        case refuse(ServingError)
        /// A token every 10 ms until the consumer stops listening.
        case endless
        /// Admitted, then no token until the consumer stops listening (a long prefill, say).
        case silent
    }

    static let script = [2, 3, 4, 5]  // "Hello, world!"

    let behavior: Behavior
    private let state = Mutex<(submitted: [ServingRequest], terminations: Int, drained: Bool)>(([], 0, false))
    /// Yields once per ended stream, for tests that wait for a cancellation.
    let terminations: AsyncStream<Void>
    private let terminationSignal: AsyncStream<Void>.Continuation

    init(_ behavior: Behavior = .script) {
        self.behavior = behavior
        (terminations, terminationSignal) = AsyncStream.makeStream()
    }

    var submitted: [ServingRequest] { state.withLock { $0.submitted } }
    var terminationCount: Int { state.withLock { $0.terminations } }
    var drained: Bool { state.withLock { $0.drained } }

    func submit(_ request: ServingRequest) throws -> AsyncThrowingStream<ServingEvent, any Error> {
        if case .refuse(let error) = behavior { throw error }
        state.withLock { $0.submitted.append(request) }
        let behavior = behavior
        let (stream, continuation) = AsyncThrowingStream<ServingEvent, any Error>.makeStream()
        let producer = Task {
            continuation.yield(.started(promptTokens: request.promptIDs.count, cachedTokens: 1))
            switch behavior {
            case .script:
                let length = min(request.maxTokens, Self.script.count)
                for step in 0..<length {
                    for choice in 0..<request.n {
                        continuation.yield(.token(choice: choice, Self.token(Self.script[step], logprobs: request.logprobs)))
                    }
                }
                for choice in 0..<request.n {
                    let reason: FinishReason = length < Self.script.count ? .length : .endOfGeneration
                    continuation.yield(.finished(choice: choice, reason: reason, text: ""))
                }
            case .endless:
                while !Task.isCancelled {
                    continuation.yield(.token(choice: 0, Self.token(6, logprobs: request.logprobs)))
                    try? await Task.sleep(for: .milliseconds(10))
                }
            case .silent:
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            case .refuse: break
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            producer.cancel()
            self.state.withLock { $0.terminations += 1 }
            self.terminationSignal.yield()
        }
        return stream
    }

    /// Token `id` with log-probabilities when asked: the token at -0.25, then the k most likely.
    static func token(_ id: Int, logprobs: Int?) -> TokenOutput {
        let text = FakeVocabulary.words[id]
        guard let k = logprobs else { return TokenOutput(id: id, text: text) }
        let top = (0..<k).map { TokenLogprob(id: (id + $0) % FakeVocabulary.words.count, logprob: -0.25 - Float($0)) }
        return TokenOutput(id: id, text: text, logprob: -0.25, top: top)
    }

    var statistics: ServingStatistics {
        var statistics = ServingStatistics()
        statistics.waitingRequests = 3
        statistics.runningSequences = 2
        statistics.kvBlocksTotal = 100
        statistics.kvBlocksUsed = 40
        statistics.prefixQueriedTokens = 10
        statistics.prefixHitTokens = 4
        return statistics
    }

    func drain() async { state.withLock { $0.drained = true } }
}

/// Helpers shared by the route tests.
enum ServerTest {
    static func server(_ backend: FakeBackend = FakeBackend(), apiKey: String? = nil, maxBodyBytes: Int? = nil,
                       model: FakeVocabulary = FakeVocabulary()) -> OpenAIServer {
        var configuration = ServerConfiguration()
        configuration.apiKey = apiKey
        if let maxBodyBytes { configuration.maxBodyBytes = maxBodyBytes }
        return OpenAIServer(backend: backend, model: model, configuration: configuration)
    }

    /// Runs `body` against the server's router in process.
    static func withRouter<Value: Sendable>(_ server: OpenAIServer,
                                            _ body: @Sendable (any TestClientProtocol) async throws -> Value)
        async throws -> Value {
        try await Application(router: server.makeRouter()).test(.router, body)
    }

    /// POSTs `json` to `path`.
    static func post(_ client: any TestClientProtocol, _ path: String, _ json: String,
                     headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
        guard let dictionary = object as? [String: Any] else { throw Failure("the body is not a JSON object: \(object)") }
        return dictionary
    }

    /// The `data:` payloads of a server-sent-events body, in order.
    static func events(_ response: TestResponse) -> [String] {
        String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : "<not a data line: \(event)>"
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
