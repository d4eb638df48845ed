import ArgumentParser
import Foundation
import PhoenixEngine

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with the model: one line in, a streamed answer out. Ctrl-D or /exit ends.",
        discussion: """
            Applies the model's chat template when the file has one Phoenix recognises (Gemma, ChatML, \
            Llama 3). A base model has none: then each line is continued as plain text, and the \
            conversation is not kept. Each turn sends the whole conversation to the serving engine, whose \
            prefix cache finds the earlier turns' keys and values, so only the new text is computed.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "A system message to start the conversation with.")
    var system: String?

    @OptionGroup var flags: GenerationFlags

    func run() async throws {
        let options = try flags.options()
        let loaded = try model.load()
        var configuration = ServingConfiguration()
        configuration.threads = flags.threads
        configuration.kvPrecision = flags.cacheType
        configuration.maxBatch = 1
        configuration.contextLimit = flags.context
        let engine = try ServingEngine(model: loaded, configuration: configuration)
        let format = loaded.chatTemplate.flatMap(ChatFormat.init(template:))
        switch (loaded.chatTemplate, format) {
        case (nil, _):
            note("This model has no chat template (it is a base model): each line is continued as plain text.")
        case (_?, nil):
            note("This model's chat template is not one Phoenix recognises: each line is continued as plain text.")
        case (_, let format?):
            note("Chat format: \(format.rawValue). Type a message; Ctrl-D or /exit ends.")
        }
        var messages = system.map { [ChatMessage(.system, $0)] } ?? []
        while true {
            FileHandle.standardError.write(Data("> ".utf8))
            guard let line = readLine(strippingNewline: true) else { break }
            if line == "/exit" { break }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            var request: ServingRequest
            if let format {
                messages.append(ChatMessage(.user, line))
                request = ServingRequest(promptIDs: Self.encode(format.render(messages), loaded, parseSpecial: true))
            } else {
                request = ServingRequest(promptIDs: Self.encode(line, loaded, parseSpecial: false))
            }
            request.maxTokens = options.maxTokens
            request.sampling = options.sampling
            request.stopStrings = options.stopStrings
            do {
                var answer = ""
                for try await event in try engine.submit(request) {
                    switch event {
                    case .token(_, let token): answer += token.text; write(token.text)
                    case .finished(_, _, let text): answer += text; write(text)
                    case .started: break
                    }
                }
                write("\n")
                if format != nil { messages.append(ChatMessage(.assistant, answer)) }
            } catch let error as ServingError {
                note("error: \(error)")
                if format != nil { messages.removeLast() }
            }
        }
    }

    /// The prompt's token ids, with BOS as the model's metadata says.
    static func encode(_ text: String, _ model: LoadedModel, parseSpecial: Bool) -> [Int] {
        var ids = model.tokenizer.encode(text, addSpecial: false, parseSpecial: parseSpecial)
        if model.tokenizer.addBOS, let bos = model.tokenizer.bosID { ids.insert(bos, at: 0) }
        return ids
    }

    private func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
    private func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
