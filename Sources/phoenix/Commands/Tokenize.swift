import ArgumentParser
import Foundation
import PhoenixGGUF
import PhoenixTokenizer

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids and pieces the model's tokenizer gives a text.",
        discussion: """
            BOS (and EOS) are added as the model's metadata says; --no-bos adds nothing. Special-token \
            text such as <start_of_turn> stays plain text unless --parse-special is given. \
            With --bench, the text is tokenized repeatedly for about two seconds and one JSON line \
            reports the throughput in MB/s (use a large --file).
            """)

    @OptionGroup var model: ModelOptions

    @Flag(name: .customLong("no-bos"), help: "Add no BOS or EOS token.")
    var noBOS = false

    @Flag(help: "Recognise special-token text (as chat templates need).")
    var parseSpecial = false

    @Flag(help: "Print one JSON object {\"ids\": [...], \"pieces\": [...]} instead of a table.")
    var json = false

    @Flag(help: "Measure tokenization throughput instead of printing tokens.")
    var bench = false

    @Option(help: ArgumentHelp("Read the text from this file (UTF-8).", valueName: "file"))
    var file: String?

    @Argument(help: "The text to tokenize.")
    var text: String?

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("give either TEXT or --file FILE") }
    }

    func run() throws {
        let (path, gguf) = try model.open()
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf.metadata)
        } catch {
            throw CommandError("\(path): \(error)")
        }
        let bytes = try inputBytes()
        if bench { return try benchmark(tokenizer, bytes, model: path) }
        let ids: [Int]
        do {
            ids = try tokenizer.encode(utf8: bytes, addSpecial: !noBOS, parseSpecial: parseSpecial)
        } catch {
            throw CommandError("\(file ?? "TEXT"): \(error)")
        }
        let pieces = try ids.map { try tokenizer.tokenText($0) }
        if json {
            struct Output: Encodable { var ids: [Int], pieces: [String] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Output(ids: ids, pieces: pieces)), as: UTF8.self))
        } else {
            print(Self.table(ids: ids, pieces: pieces, tokenizer: tokenizer))
        }
    }

    private func inputBytes() throws -> [UInt8] {
        if let text { return Array(text.utf8) }
        guard let file, let data = FileManager.default.contents(atPath: file) else {
            throw CommandError("cannot read \(file ?? "")")
        }
        return [UInt8](data)
    }

    /// `index  id  type  piece`, with the piece quoted and escaped so spaces and newlines are visible.
    static func table(ids: [Int], pieces: [String], tokenizer: Tokenizer) -> String {
        let idWidth = max(2, ids.map { String($0).count }.max() ?? 0)
        let indexWidth = max(1, String(ids.count).count)
        var lines = ["\("#".padded(indexWidth))  \("id".padded(idWidth))  type          piece"]
        for (index, (id, piece)) in zip(ids, pieces).enumerated() {
            let type = (try? tokenizer.tokenType(id)).map { "\($0)" } ?? "?"
            lines.append("\(String(index).padded(indexWidth))  \(String(id).padded(idWidth))  "
                + "\(type.padded(12, left: false))  \(piece.debugDescription)")
        }
        lines.append("\(ids.count) tokens")
        return lines.joined(separator: "\n")
    }

    private func benchmark(_ tokenizer: Tokenizer, _ bytes: [UInt8], model: String) throws {
        _ = try tokenizer.encode(utf8: bytes, addSpecial: false)  // validates once, warms caches
        var tokenCount = 0, rounds = 0
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(2) || rounds == 0 {
            tokenCount = try tokenizer.encode(utf8: bytes, addSpecial: false, parseSpecial: parseSpecial).count
            rounds += 1
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let megabytesPerSecond = Double(bytes.count * rounds) / 1e6 / seconds
        print("{\"bench\":\"tokenize\",\"model\":\"\((model as NSString).lastPathComponent)\",\"bytes\":\(bytes.count),"
            + "\"tokens\":\(tokenCount),\"rounds\":\(rounds),\"seconds\":\(String(format: "%.3f", seconds)),"
            + "\"mbPerSecond\":\(String(format: "%.2f", megabytesPerSecond))}")
    }
}

extension String {
    fileprivate func padded(_ width: Int, left: Bool = true) -> String {
        let fill = String(repeating: " ", count: max(0, width - count))
        return left ? fill + self : self + fill
    }
}
