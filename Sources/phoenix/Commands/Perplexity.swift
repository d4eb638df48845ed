import ArgumentParser
import Foundation
import PhoenixEngine
import PhoenixKernels

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure the model's perplexity on a text, as llama.cpp's llama-perplexity does.",
        discussion: """
            The text (with BOS) is cut into non-overlapping windows of --ctx tokens; each window starts \
            with BOS and its second half is scored, so the figure compares directly with \
            `llama-perplexity -c N` on the same file. With --json, prints {"ppl": x, "windows": n, \
            "scored_tokens": m} (plus the mean negative log-likelihood and its standard error).
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("The text file to score.", valueName: "file"))
    var file: String

    @Option(help: "Tokens per window.")
    var ctx = 512

    @Option(help: "Score only the first N windows (llama-perplexity's --chunks).")
    var chunks: Int?

    @Option(help: "Threads (default: every available core).")
    var threads = 0

    @Option(help: .cacheType)
    var cacheType = KVPrecision.f16

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if ctx < 4 { throw ValidationError("--ctx must be at least 4") }
        if threads < 0 { throw ValidationError("--threads must be at least 1") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CommandError("cannot read \(file)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandError("\(file) is not UTF-8 text") }
        let loaded = try model.load()
        let context = GenerationContext(model: loaded, threads: threads, contextLimit: max(ctx, 1), kvPrecision: cacheType)
        let start = Date()
        let result: PerplexityResult
        do {
            result = try context.perplexity(of: text, windowLength: ctx, maxWindows: chunks) { done, total, ppl in
                let elapsed = Date().timeIntervalSince(start)
                let remaining = elapsed / Double(done) * Double(total - done)
                FileHandle.standardError.write(Data(String(
                    format: "\r[%d/%d] ppl %.4f, %.0f s left   ", done, total, ppl, remaining).utf8))
            }
        } catch let error as EngineError {
            throw CommandError(error.description)
        }
        FileHandle.standardError.write(Data("\n".utf8))
        if json {
            try printJSON(result)
        } else {
            print(String(format: "ppl %.4f +/- %.5f over %d windows of %d (%d scored tokens)",
                         result.ppl, result.ppl * result.standardError, result.windows, ctx, result.scoredTokens))
        }
    }
}
