import ArgumentParser
import Foundation
import PhoenixGGUF
import PhoenixQuant

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a GGUF file's architecture, hyperparameters, tokenizer and tensors.",
        discussion: """
            With --tensor NAME --dequantize --out FILE, writes that tensor as little-endian float32, \
            in the element order gguf-py's dequantize returns (the first dimension varies fastest).
            """)

    @OptionGroup var model: ModelOptions

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(help: ArgumentHelp("Show only this tensor.", valueName: "name"))
    var tensor: String?

    @Flag(help: "With --tensor and --out: dequantize the tensor to float32.")
    var dequantize = false

    @Option(help: ArgumentHelp("With --tensor --dequantize: the output file.", valueName: "file"))
    var out: String?

    func validate() throws {
        if dequantize && (tensor == nil || out == nil) {
            throw ValidationError("--dequantize needs --tensor NAME and --out FILE")
        }
        if out != nil && !dequantize { throw ValidationError("--out is only used with --dequantize") }
    }

    func run() throws {
        let (path, file) = try model.open()
        if let name = tensor {
            guard let info = file.tensor(named: name) else {
                throw CommandError("no tensor named '\(name)' in \(path) (phoenix inspect lists them)")
            }
            if dequantize, let out {
                try writeDequantized(info, of: file, to: out)
                return
            }
            let one = GGUFSummary.Tensor(info)
            if json { try printJSON(one) } else { print(TensorTable.render([one])) }
            return
        }
        let summary = GGUFSummary(file, path: path)
        if json { try printJSON(summary) } else { print(SummaryText.render(summary)) }
    }

    private func writeDequantized(_ info: GGUFTensorInfo, of file: GGUFFile, to out: String) throws {
        let values = [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
            Quantization.dequantize(info.type, from: file.data(for: info), into: buffer)
            count = info.elementCount
        }
        let bytes = values.withUnsafeBytes { Data($0) }  // little-endian hosts only, like ggml
        do {
            try bytes.write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CommandError("cannot write \(out): \(error.localizedDescription)")
        }
        FileHandle.standardError.write(Data(
            "wrote \(info.elementCount) float32 values of \(info.name) (\(info.type), \(info.dimensions)) to \(out)\n".utf8))
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The text form of `phoenix inspect`.
enum SummaryText {
    static func render(_ s: GGUFSummary) -> String {
        var lines: [String] = []
        lines.append("file          \(s.path)")
        lines.append("size          \(formatBytes(s.fileBytes)) (GGUF v\(s.version))")
        lines.append("architecture  \(s.architecture ?? "(none)")")
        if let name = s.name { lines.append("name          \(name)") }
        lines.append("parameters    \(formatCount(s.totalParameters)) in \(s.tensors.count) tensors, \(formatBytes(s.totalTensorBytes))")
        lines.append("")
        lines.append("hyperparameters")
        for key in s.hyperparameters.keys.sorted() { lines.append("  \(key.padding(36)) \(s.hyperparameters[key]!)") }
        lines.append("")
        let t = s.tokenizer
        lines.append("tokenizer")
        lines.append("  model \(t.model ?? "-"), pre \(t.pre ?? "-"), \(t.vocabularySize.map(String.init) ?? "no") tokens"
            + (t.mergeCount.map { ", \($0) merges" } ?? ""))
        lines.append("  bos \(t.bosTokenID.map(String.init) ?? "-") (add: \(t.addBOS.map(String.init) ?? "-")), "
            + "eos \(t.eosTokenID.map(String.init) ?? "-") (add: \(t.addEOS.map(String.init) ?? "-")), "
            + "unknown \(t.unknownTokenID.map(String.init) ?? "-"), padding \(t.paddingTokenID.map(String.init) ?? "-"), "
            + "chat template: \(t.hasChatTemplate ? "yes" : "no")")
        lines.append("")
        lines.append("metadata")
        for key in s.otherMetadata.keys.sorted() { lines.append("  \(key.padding(36)) \(s.otherMetadata[key]!)") }
        lines.append("")
        lines.append(TensorTable.render(s.tensors))
        lines.append("")
        lines.append("by type")
        for total in s.byType {
            lines.append("  \(total.type.padding(8)) \(String(total.tensors).leftPadding(4)) tensors "
                + "\(formatCount(total.parameters).leftPadding(10)) parameters \(formatBytes(total.bytes).leftPadding(10))")
        }
        return lines.joined(separator: "\n")
    }
}

enum TensorTable {
    static func render(_ tensors: [GGUFSummary.Tensor]) -> String {
        let nameWidth = max(4, tensors.map(\.name.count).max() ?? 0)
        var lines = ["\("name".padding(nameWidth))  type    \("shape".padding(16))  \("bytes".leftPadding(12))"]
        for t in tensors {
            let shape = t.shape.map(String.init).joined(separator: " x ")
            lines.append("\(t.name.padding(nameWidth))  \(t.type.padding(6))  \(shape.padding(16))  \(String(t.bytes).leftPadding(12))")
        }
        return lines.joined(separator: "\n")
    }
}

func formatBytes(_ bytes: Int) -> String {
    let value = Double(bytes), kib = 1024.0, mib = kib * 1024, gib = mib * 1024
    if value >= gib { return String(format: "%.2f GiB", value / gib) }
    if value >= mib { return String(format: "%.1f MiB", value / mib) }
    if value >= kib { return String(format: "%.1f KiB", value / kib) }
    return "\(bytes) B"
}

func formatCount(_ count: Int) -> String {
    let value = Double(count)
    if value >= 1e9 { return String(format: "%.2fB", value / 1e9) }
    if value >= 1e6 { return String(format: "%.1fM", value / 1e6) }
    if value >= 1e3 { return String(format: "%.1fK", value / 1e3) }
    return "\(count)"
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
