import Foundation
import PhoenixTestSupport
import PhoenixTokenizer

/// The tokenizer fixtures written by Scripts/goldens/tokenizer_goldens.py (see Tests/Fixtures/README.md).
enum TokenizerFixtures {
    struct Case: Decodable {
        var ids: [Int]
        var idsParseSpecial: [Int]
        var roundTrip: Bool?

        enum CodingKeys: String, CodingKey {
            case ids, idsParseSpecial = "ids_parse_special", roundTrip = "round_trip"
        }
    }

    struct Gemma: Decodable {
        var reference: [String: String]
        var cases: [GemmaCase]
    }

    struct GemmaCase: Decodable {
        var text: String
        var ids: [Int]
        var idsParseSpecial: [Int]

        enum CodingKeys: String, CodingKey { case text, ids, idsParseSpecial = "ids_parse_special" }
    }

    struct BytePair: Decodable {
        var reference: [String: String]
        var cases: [String: [Case]]
    }

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: TestEnvironment.fixture("tokenizer/\(name)")))
    }

    static func corpus() throws -> [String] { try load("corpus.json", as: [String].self) }

    static var bytePairPath: String { TestEnvironment.fixture("tokenizer/bpe-tiny.gguf").path }

    /// A readable account of the first few mismatches.
    static func report(_ mismatches: [(String, [Int], [Int])], of total: Int, label: String) -> String {
        var lines = ["\(label): \(total - mismatches.count)/\(total) identical"]
        for (text, expected, actual) in mismatches.prefix(5) {
            lines.append("  \(text.debugDescription)\n    reference \(expected)\n    phoenix   \(actual)")
        }
        return lines.joined(separator: "\n")
    }
}
