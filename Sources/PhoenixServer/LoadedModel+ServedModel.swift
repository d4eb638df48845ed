import Foundation
import PhoenixEngine

extension LoadedModel: ServedModel {
    /// The file's name without `.gguf`: what `phoenix serve` lists unless `--model-name` says otherwise.
    public var name: String {
        let file = URL(fileURLWithPath: path).lastPathComponent
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    public var vocabularySize: Int { tokenizer.tokenCount }

    public var contextLength: Int { network.shape.contextLength }

    public func encodeCompletionPrompt(_ text: String) -> [Int] {
        var ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        if tokenizer.addBOS, let bos = tokenizer.bosID { ids.insert(bos, at: 0) }
        return ids
    }

    public func encodeChat(_ messages: [ChatMessage]) throws -> [Int] {
        var ids = tokenizer.encode(servedChatFormat.format.render(messages), addSpecial: false, parseSpecial: true)
        if tokenizer.addBOS, let bos = tokenizer.bosID { ids.insert(bos, at: 0) }
        return ids
    }

    public func tokenBytes(_ id: Int) -> [UInt8] { (try? tokenizer.pieceBytes(id)) ?? [] }

    /// The chat format `/v1/chat/completions` renders with, and where it came from. A model without a
    /// template Phoenix recognises (a base model) still gets one: the family whose turn markers its
    /// vocabulary has, else ChatML, which is what llama.cpp's server falls back to.
    public var servedChatFormat: (format: ChatFormat, source: String) {
        if let format = chatTemplate.flatMap(ChatFormat.init(template:)) { return (format, "the model's chat template") }
        let markers: [(ChatFormat, String)] = [(.gemma, "<start_of_turn>"), (.chatML, "<|im_start|>"),
                                                (.llama3, "<|start_header_id|>")]
        let reason = chatTemplate == nil ? "the model has no chat template" : "its chat template is not one Phoenix recognises"
        if let (format, marker) = markers.first(where: { tokenizer.id(ofToken: $0.1) != nil }) {
            return (format, "\(reason); the vocabulary has \(marker)")
        }
        return (.chatML, "\(reason); ChatML by default")
    }
}
