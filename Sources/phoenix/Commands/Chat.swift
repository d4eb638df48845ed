import ArgumentParser
import Foundation
import PhoenixEngine

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with the model: one line in, a streamed answer out. Ctrl-D or /exit ends.",
        discussion: """
            Applies the model's chat template when the file has one Phoenix recognises (Gemma, ChatML, \
            Llama 3). A base model has none: then each line is continued as plain text, and the \
            conversation is not kept.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "A system message to start the conversation with.")
    var system: String?

    @OptionGroup var flags: GenerationFlags

    func run() throws {
        var options = try flags.options()
        let loaded = try model.load()
        let context = GenerationContext(model: loaded, threads: flags.threads, contextLimit: flags.context)
        let format = loaded.chatTemplate.flatMap(ChatFormat.init(template:))
        switch (loaded.chatTemplate, format) {
        case (nil, _):
            note("This model has no chat template (it is a base model): each line is continued as plain text.")
        case (_?, nil):
            note("This model's chat template is not one Phoenix recognises: each line is continued as plain text.")
        case (_, let format?):
            note("Chat format: \(format.rawValue). Type a message; Ctrl-D or /exit ends.")
            options.parseSpecialTokens = true
        }
        var messages = system.map { [ChatMessage(.system, $0)] } ?? []
        while true {
            FileHandle.standardError.write(Data("> ".utf8))
            guard let line = readLine(strippingNewline: true) else { break }
            if line == "/exit" { break }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let prompt: String
            if let format {
                messages.append(ChatMessage(.user, line))
                prompt = format.render(messages)
            } else {
                prompt = line
            }
            do {
                let result = try context.run(promptIDs: try context.encode(prompt, options: options), options: options) { event in
                    switch event {
                    case .token(_, let text), .text(let text): FileHandle.standardOutput.write(Data(text.utf8))
                    case .finished: break
                    }
                }
                FileHandle.standardOutput.write(Data("\n".utf8))
                if format != nil { messages.append(ChatMessage(.assistant, result.text)) }
            } catch let error as EngineError {
                note("error: \(error)")
                if format != nil { messages.removeLast() }
            }
        }
    }

    private func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
