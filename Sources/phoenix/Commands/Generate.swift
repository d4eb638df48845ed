import ArgumentParser
import Foundation
import PhoenixEngine

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with the model, streaming the text as it is produced.",
        discussion: """
            Prints prefill and decode speed (tokens/s) on standard error at the end. With --json, prints \
            one JSON object instead: prompt_ids, tokens (the generated ids only), text, finish_reason, \
            prefill_tokens_per_second, decode_tokens_per_second.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "The text to continue.")
    var prompt: String

    @OptionGroup var flags: GenerationFlags

    @Flag(help: "Do not add the BOS token, whatever the model's metadata says.")
    var noBOS = false

    @Flag(help: "Recognise special-token text such as <start_of_turn> in the prompt.")
    var special = false

    @Flag(help: "Print one JSON object instead of streaming text.")
    var json = false

    func run() throws {
        var options = try flags.options()
        if noBOS { options.addBOS = false }
        options.parseSpecialTokens = special
        let loaded = try model.load()
        let context = GenerationContext(model: loaded, threads: flags.threads, contextLimit: flags.context,
                                        kvPrecision: flags.cacheType)
        let ids = try context.encode(prompt, options: options)
        let result: GenerationResult
        do {
            result = try context.run(promptIDs: ids, options: options) { event in
                guard !json else { return }
                switch event {
                case .token(_, let text), .text(let text):
                    FileHandle.standardOutput.write(Data(text.utf8))
                case .finished: break
                }
            }
        } catch let error as EngineError {
            throw CommandError(error.description)
        }
        if json {
            try printJSON(GenerateReport(result))
        } else {
            FileHandle.standardOutput.write(Data("\n".utf8))  // unbuffered, like the streamed text
            let t = result.timings
            FileHandle.standardError.write(Data(String(
                format: "prefill: %d tokens, %.1f tokens/s | decode: %d tokens, %.1f tokens/s | finish: %@\n",
                t.promptTokens, t.prefillTokensPerSecond, t.generatedTokens, t.decodeTokensPerSecond,
                result.finishReason.rawValue).utf8))
        }
    }
}

/// The `--json` shape of `phoenix generate`; other tools parse it, so its keys are fixed.
struct GenerateReport: Encodable {
    var promptIds: [Int]
    var tokens: [Int]
    var text: String
    var finishReason: String
    var prefillTokensPerSecond: Double
    var decodeTokensPerSecond: Double

    init(_ result: GenerationResult) {
        promptIds = result.promptIDs
        tokens = result.tokens
        text = result.text
        finishReason = result.finishReason.rawValue
        prefillTokensPerSecond = result.timings.prefillTokensPerSecond
        decodeTokensPerSecond = result.timings.decodeTokensPerSecond
    }
}
