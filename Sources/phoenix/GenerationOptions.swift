import ArgumentParser
import PhoenixEngine
import PhoenixKernels

/// Sampling and stopping flags shared by `generate` and `chat`.
struct GenerationFlags: ParsableArguments {
    @Option(help: "Most new tokens to generate.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Keep only the K most likely tokens (0: all).")
    var topK = 0

    @Option(help: "Keep the smallest set of tokens whose probability reaches P (1: all).")
    var topP: Float = 1

    @Option(help: "Drop tokens less likely than P times the most likely one (0: off).")
    var minP: Float = 0

    @Option(help: "Repetition penalty over the last --penalty-window tokens (1: off).")
    var repeatPenalty: Float = 1

    @Option(help: "Presence penalty, -2 to 2.")
    var presencePenalty: Float = 0

    @Option(help: "Frequency penalty, -2 to 2.")
    var frequencyPenalty: Float = 0

    @Option(help: "Tokens the penalties look back over.")
    var penaltyWindow = 64

    @Option(help: "Random seed, for reproducible sampling.")
    var seed: UInt64?

    @Option(name: .customLong("stop"), help: "Stop when this text appears (repeatable).")
    var stopStrings: [String] = []

    @Option(help: "Threads (default: every available core).")
    var threads = 0

    @Option(help: .cacheType)
    var cacheType = KVPrecision.f16

    @Option(help: "Most tokens of context, prompt and output together (default: the model's).")
    var context: Int?

    func options() throws -> GenerateOptions {
        var options = GenerateOptions()
        options.maxTokens = maxTokens
        options.stopStrings = stopStrings
        var sampling = SamplingParameters()
        sampling.temperature = temperature
        sampling.topK = topK
        sampling.topP = topP
        sampling.minP = minP
        sampling.repetitionPenalty = repeatPenalty
        sampling.presencePenalty = presencePenalty
        sampling.frequencyPenalty = frequencyPenalty
        sampling.penaltyWindow = penaltyWindow
        sampling.seed = seed
        options.sampling = sampling
        do {
            try options.validate()
        } catch let error as EngineError {
            throw ValidationError(error.description)
        }
        if threads < 0 { throw ValidationError("--threads must be at least 1") }
        if let context, context < 2 { throw ValidationError("--context must be at least 2") }
        return options
    }
}

extension ModelOptions {
    /// Loads the resolved model with its tokenizer; errors name the file and the problem.
    func load() throws -> LoadedModel {
        let path = try resolvedPath()
        do {
            return try LoadedModel(path: path)
        } catch {
            throw CommandError("\(path): \(error)")
        }
    }
}
