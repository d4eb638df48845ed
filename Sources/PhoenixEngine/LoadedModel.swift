import PhoenixGGUF
import PhoenixModels
import PhoenixTokenizer

/// A model file opened once: weights mapped, architecture built, tokenizer ready. Immutable and
/// shareable; generation happens in a `GenerationContext` made from it.
public final class LoadedModel: Sendable {
    public let path: String
    public let file: GGUFFile
    public let network: any LanguageModel
    public let tokenizer: Tokenizer
    /// Tokens that end a generation: EOS, and end-of-turn markers that chat models emit.
    public let endOfGenerationIDs: Set<Int>
    public let chatTemplate: String?

    public init(path: String) throws {
        self.path = path
        file = try GGUFFile(path: path)
        network = try ModelRegistry.load(file)
        tokenizer = try Tokenizer(file.metadata)
        var stops = Set<Int>()
        if let eos = tokenizer.eosID { stops.insert(eos) }
        // llama.cpp also ends generation at these control tokens when a vocabulary has them.
        for marker in ["<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|endoftext|>"] {
            if let id = tokenizer.id(ofToken: marker) { stops.insert(id) }
        }
        endOfGenerationIDs = stops
        chatTemplate = try? file.metadata.string("tokenizer.chat_template")
    }

    public var architecture: String { network.architecture }
}
