import Foundation
import PhoenixGGUF
import PhoenixTestSupport
import Testing

/// The `phoenix` executable built beside the tests: flags, exit codes and messages as a user sees them.
@Suite(.serialized)
struct CLITests {
    struct Run { var status: Int32; var stdout: String; var stderr: String }

    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("phoenix")
    }

    static func phoenix(_ arguments: String...) throws -> Run { try phoenix(arguments) }

    static func phoenix(_ arguments: [String], input: String? = nil) throws -> Run {
        let result = try TestEnvironment.run(executable, arguments, input: input.map { Data($0.utf8) })
        return Run(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
    }

    static func temporaryGGUF(architecture: String) throws -> String {
        var writer = GGUFWriter()
        writer.metadata.set("general.architecture", .string(architecture))
        try writer.addTensor("token_embd.weight", dimensions: [4, 2], values: [Float](repeating: 0.5, count: 8))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("phoenix-cli-\(UUID()).gguf").path
        try writer.write(to: path)
        return path
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path), "phoenix not built"))
    func badFlagsExitNonZeroWithAMessage() throws {
        let cases: [([String], String)] = [
            (["generate", "--prompt", "x", "--max-tokens", "0"], "max tokens must be at least 1"),
            (["generate", "--prompt", "x", "--temperature=-1"], "temperature must be"),
            (["generate", "--prompt", "x", "--top-p", "1.5"], "top-p must be"),
            (["generate", "--prompt", "x", "--model", "/nonexistent/model.gguf"], "does not exist"),
            (["perplexity", "--file", "/nonexistent.txt", "--ctx", "2"], "--ctx must be at least 4"),
            (["inspect", "--dequantize"], "--dequantize needs --tensor"),
            (["bench", "--kernel-rates", "--memory-bandwidth"], "--memory-bandwidth and --kernel-rates are separate runs"),
            (["bench", "--cache-type", "q8_0"], "'f16' and 'f32'"),
            (["bench", "--n-depth", "0,x"], "--n-depth takes non-negative integers"),
        ]
        for (arguments, message) in cases {
            let run = try Self.phoenix(arguments)
            #expect(run.status != 0, "\(arguments) should fail")
            #expect(run.stderr.contains(message), "\(arguments): stderr was \(run.stderr)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path), "phoenix not built"))
    func unknownArchitectureAndBrokenFilesAreReported() throws {
        let path = try Self.temporaryGGUF(architecture: "mamba9")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Self.phoenix("generate", "--model", path, "--prompt", "hi")
        #expect(run.status != 0 && run.stderr.contains("unknown architecture 'mamba9'"), "\(run.stderr)")
        let inspect = try Self.phoenix("inspect", "--model", path, "--json")
        #expect(inspect.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        #expect(json?["architecture"] as? String == "mamba9")

        let truncated = path + ".cut"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(40).write(to: URL(fileURLWithPath: truncated))
        defer { try? FileManager.default.removeItem(atPath: truncated) }
        let cut = try Self.phoenix("inspect", "--model", truncated)
        #expect(cut.status != 0 && cut.stderr.contains("truncated"), "\(cut.stderr)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path) && TestEnvironment.defaultModelTestsEnabled,
                   "phoenix or the default model missing"))
    func generateJSONAndContextLimits() throws {
        let run = try Self.phoenix("generate", "--prompt", "The capital of France is", "--max-tokens", "4", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["prompt_ids"] as? [Int] == [2, 818, 5279, 529, 7001, 563])
        #expect(json["tokens"] as? [Int] == [506, 5279, 529, 506])  // transformers' greedy continuation
        #expect(json["text"] as? String == " the capital of the")
        #expect((json["decode_tokens_per_second"] as? Double ?? 0) > 0 && (json["prefill_tokens_per_second"] as? Double ?? 0) > 0)
        // A float32 KV cache gives the same greedy tokens.
        let exact = try Self.phoenix("generate", "--prompt", "The capital of France is", "--max-tokens", "4", "--json",
                                     "--cache-type", "f32")
        let exactJSON = try #require(try JSONSerialization.jsonObject(with: Data(exact.stdout.utf8)) as? [String: Any])
        #expect(exactJSON["tokens"] as? [Int] == [506, 5279, 529, 506], "\(exact.stderr)")

        let long = try Self.phoenix("generate", "--prompt", "one two three four five six seven", "--context", "4")
        #expect(long.status != 0 && long.stderr.contains("more than the context of 4 allows"), "\(long.stderr)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path) && TestEnvironment.defaultModelTestsEnabled,
                   "phoenix or the default model missing"))
    func dequantizedTensorDumpIsFloat32InFileOrder() throws {
        let path = try #require(TestEnvironment.defaultModelPath)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("phoenix-dump-\(UUID()).f32").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let run = try Self.phoenix("inspect", "--tensor", "blk.0.attn_output.weight", "--dequantize", "--out", out)
        #expect(run.status == 0, "\(run.stderr)")
        let dumped = try Data(contentsOf: URL(fileURLWithPath: out))
        let file = try GGUFFile(path: path)
        let info = try #require(file.tensor(named: "blk.0.attn_output.weight"))
        #expect(dumped.count == info.elementCount * 4 && info.type == .q4_K)
        // The first Q4_K block by hand: w = d·scale·q − dmin·min, group 0 in the low nibbles of bytes 16..<48.
        let block = file.data(for: info)
        let d = Float(Float16(bitPattern: UInt16(block[0]) | UInt16(block[1]) << 8))
        let dmin = Float(Float16(bitPattern: UInt16(block[2]) | UInt16(block[3]) << 8))
        let (scale, minimum) = (Float(block[4] & 63), Float(block[8] & 63))
        let first = dumped.withUnsafeBytes { Array($0.bindMemory(to: Float.self).prefix(32)) }
        for l in 0..<32 {
            let q = Float(block[16 + l] & 0x0F)
            #expect(first[l] == d * scale * q - dmin * minimum)
        }
    }

    /// `--n-depth` runs each test on top of a filled cache and names it as llama-bench does; a depth the
    /// model's context cannot hold is refused before anything runs.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path) && TestEnvironment.defaultModelTestsEnabled,
                   "phoenix or the default model missing"))
    func benchDepthStartsFromAFilledCache() throws {
        let table = try Self.phoenix("bench", "-p", "8", "-n", "2", "-d", "0,24", "-t", "1", "-r", "1")
        #expect(table.status == 0, "\(table.stderr)")
        // The test column of each row: | model | threads | test | t/s |
        let tests = table.stdout.split(separator: "\n").compactMap { line -> String? in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return line.hasPrefix("| gemma") && cells.count == 4 ? cells[2] : nil
        }
        #expect(tests == ["pp8", "tg2", "pp8 @ d24", "tg2 @ d24"], "\(table.stdout)")
        let json = try Self.phoenix("bench", "-p", "0", "-n", "2", "-d", "24", "-t", "1", "-r", "1", "--json")
        let results = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(results.count == 1 && results[0]["test"] as? String == "tg2" && results[0]["n_depth"] as? Int == 24)
        let deep = try Self.phoenix("bench", "-p", "512", "-n", "0", "-d", "32700", "-r", "1")
        #expect(deep.status != 0 && deep.stderr.contains("33212 positions") && deep.stderr.contains("context of 32768"),
                "\(deep.stderr)")
    }

    /// `PHOENIX_WIDE_KERNELS=0` puts every command on the 256-bit kernels, as on a CPU without AVX-512:
    /// the benchmark's JSON says so, and the default model's greedy tokens are the same as with the
    /// 512-bit kernels (and the layers held in row pairs), which give the same bits.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path) && TestEnvironment.defaultModelTestsEnabled,
                   "phoenix or the default model missing"))
    func wideKernelsSwitchChangesTheKernelsAndNotTheTokens() throws {
        func phoenix(_ environment: [String], _ arguments: [String]) throws -> Run {
            let result = try TestEnvironment.run(URL(fileURLWithPath: "/usr/bin/env"), environment + [Self.executable.path] + arguments)
            return Run(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
        }
        let bench = try phoenix(["PHOENIX_WIDE_KERNELS=0"], ["bench", "-p", "16", "-n", "2", "-r", "1", "--json"])
        #expect(bench.status == 0, "\(bench.stderr)")
        let results = try #require(try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [[String: Any]])
        #if arch(x86_64)
        #expect(results.count == 2 && results.allSatisfy { $0["kernels"] as? String == "avx2" }, "\(bench.stdout)")
        #endif
        func tokens(_ environment: [String]) throws -> [Int] {
            let run = try phoenix(environment, ["generate", "--prompt", "The capital of France is", "--max-tokens", "16", "--json"])
            try #require(run.status == 0, "\(run.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return try #require(object["tokens"] as? [Int])
        }
        let narrow = try tokens(["PHOENIX_WIDE_KERNELS=0"]), wide = try tokens([])
        #expect(narrow.count == 16 && narrow == wide, "256-bit \(narrow), 512-bit \(wide)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path) && TestEnvironment.defaultModelTestsEnabled,
                   "phoenix or the default model missing"))
    func chatSaysABaseModelHasNoTemplate() throws {
        let run = try Self.phoenix(["chat", "--max-tokens", "3"], input: "The capital of France is\n/exit\n")
        let (stdout, stderr) = (run.stdout, run.stderr)
        #expect(run.status == 0)
        #expect(stderr.contains("no chat template"))
        #expect(stdout.hasPrefix(" the capital of"))
    }
}
