import ArgumentParser
import Foundation
import Logging
import PhoenixEngine
import PhoenixServer
import PhoenixKernels

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over an OpenAI-compatible HTTP API, batching concurrent requests.",
        discussion: """
            Routes: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health, \
            GET /metrics (Prometheus). Prints "phoenix serve: listening on http://HOST:PORT" on standard \
            output once it accepts connections. SIGTERM or SIGINT stops it gracefully: new requests get \
            503, running ones finish, then it exits with status 0. See docs/serving.md.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Address to listen on; use 0.0.0.0 to accept connections from other machines.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (printed once listening).")
    var port = 8080

    @Option(help: "Most sequences decoded or prefilled together in one step.")
    var maxBatch = ServingConfiguration().maxBatch

    @Option(help: "KV-cache blocks in the pool (default: --max-batch sequences of 1,024 positions, and at least one of --context).")
    var kvBlocks: Int?

    @Option(help: "Positions per KV-cache block.")
    var blockSize = ServingConfiguration().blockSize

    @Option(help: "Tokens one step may process: one per decoding sequence, the rest for prompt chunks.")
    var tokenBudget = ServingConfiguration().tokenBudget

    @Option(help: "Most positions (prompt and output) of one sequence (default: the model's context, at most 4096).")
    var context: Int?

    @Option(help: "Requests that may wait for a place in the batch before new ones are refused with 429.")
    var maxWaiting = ServingConfiguration().maxWaiting

    @Option(help: "Threads for the forward pass; 0 means every available core.")
    var threads = 0

    @Option(help: .cacheType)
    var cacheType = KVPrecision.f16

    @Flag(help: "Do not reuse the KV blocks of earlier prompts that share a prefix.")
    var noPrefixCache = false

    @Option(help: ArgumentHelp("Require 'Authorization: Bearer KEY' on /v1 routes. Default: $PHOENIX_API_KEY.",
                               valueName: "key"))
    var apiKey: String?

    @Option(help: "Largest request body accepted; larger ones get 413.")
    var maxBodyBytes = ServerConfiguration().maxBodyBytes

    @Option(help: "The model name clients pass as 'model' (default: the file's name without .gguf).")
    var modelName: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        for (name, value) in [("--max-batch", maxBatch), ("--block-size", blockSize), ("--token-budget", tokenBudget),
                              ("--max-body-bytes", maxBodyBytes)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if let kvBlocks, kvBlocks < 1 { throw ValidationError("--kv-blocks must be at least 1") }
        if let context, context < 2 { throw ValidationError("--context must be at least 2") }
        if maxWaiting < 0 { throw ValidationError("--max-waiting must be at least 0") }
        if threads < 0 { throw ValidationError("--threads must be at least 0") }
        if let modelName, modelName.isEmpty { throw ValidationError("--model-name must not be empty") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let loaded = try model.load()
        let engine: ServingEngine
        do {
            engine = try ServingEngine(model: loaded, configuration: servingConfiguration)
        } catch {
            throw CommandError("cannot start the engine: \(error)")
        }
        FileHandle.standardError.write(Data(("phoenix serve: KV pool of \(engine.blockCount) blocks of \(blockSize) positions "
            + "(\(engine.kvCacheBytes >> 20) MiB, \(cacheType)), up to \(engine.contextLimit) positions per sequence, "
            + "batches of up to \(maxBatch)\n").utf8))
        let chat = loaded.servedChatFormat
        FileHandle.standardError.write(Data("phoenix serve: chat format \(chat.format.rawValue) (\(chat.source))\n".utf8))
        let server = OpenAIServer(backend: engine, model: loaded,
                                  configuration: serverConfiguration(contextLimit: engine.contextLimit))
        do {
            try await server.run { host, port in
                // Scripts wait for this line; standard output is a pipe for them, so write it unbuffered.
                FileHandle.standardOutput.write(Data("phoenix serve: listening on \(OpenAIServer.url(host: host, port: port))\n".utf8))
            }
        } catch {
            throw CommandError("cannot serve on \(OpenAIServer.url(host: host, port: port)): \(error)")
        }
    }

    var servingConfiguration: ServingConfiguration {
        var configuration = ServingConfiguration()
        configuration.threads = threads
        configuration.maxBatch = maxBatch
        configuration.tokenBudget = tokenBudget
        configuration.blockSize = blockSize
        configuration.kvBlocks = kvBlocks
        configuration.contextLimit = context
        configuration.maxWaiting = maxWaiting
        configuration.prefixCaching = !noPrefixCache
        configuration.kvPrecision = cacheType
        return configuration
    }

    func serverConfiguration(contextLimit: Int) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.modelName = modelName
        let environmentKey = ProcessInfo.processInfo.environment["PHOENIX_API_KEY"]
        configuration.apiKey = apiKey ?? (environmentKey?.isEmpty == false ? environmentKey : nil)
        configuration.maxBodyBytes = maxBodyBytes
        // What the engine accepts for one sequence, so that chat's default max_tokens is never refused.
        configuration.contextLimit = contextLimit
        return configuration
    }
}
