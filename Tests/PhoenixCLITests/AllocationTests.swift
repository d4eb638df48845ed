import Foundation
import PhoenixTestSupport
import Testing

/// Decoding allocates nothing per token: `phoenix bench` decoding 160 tokens makes as many heap
/// allocations as decoding 32, with one thread and with two, counted by a small library
/// (Tests/Fixtures/count-allocations.c) loaded in place of glibc's allocation functions.
@Suite struct AllocationTests {
    static var clangAvailable: Bool {
        (try? TestEnvironment.run(URL(fileURLWithPath: "/usr/bin/env"), ["clang", "--version"]).status) == 0
    }

    /// The default model: quantized matrices, on the 16-bit kernels.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLITests.executable.path)
                   && TestEnvironment.defaultModelTestsEnabled && clangAvailable,
                   "phoenix, the default model or clang missing"))
    func decodingAllocatesNothingPerToken() throws {
        // Before the decode loop was made allocation-free, 128 more tokens made 19,202 more allocations
        // with one thread and 30,850 with two.
        try Self.expectNoAllocationPerToken(model: [])
    }

    /// A model of 32-bit float matrices (a fixture converted by llama.cpp), on the float GEMM.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CLITests.executable.path) && clangAvailable,
                   "phoenix or clang missing"))
    func floatModelDecodingAllocatesNothingPerToken() throws {
        // Before the float GEMM took its panels from the pool and its work as a task value: 6,272 more
        // with one thread.
        try Self.expectNoAllocationPerToken(model: ["--model", TestEnvironment.fixture("models/tiny-qwen2.gguf").path])
    }

    static func expectNoAllocationPerToken(model: [String]) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("phoenix-allocations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let library = folder.appendingPathComponent("count-allocations.so").path
        let build = try TestEnvironment.run(URL(fileURLWithPath: "/usr/bin/env"),
                                            ["clang", "-shared", "-fPIC", "-O2", "-o", library,
                                             TestEnvironment.fixture("count-allocations.c").path])
        try #require(build.status == 0, "building the counting library failed: \(build.stderr)")

        func allocations(decoding tokens: Int, threads: Int) throws -> Int {
            let run = try TestEnvironment.run(URL(fileURLWithPath: "/usr/bin/env"),
                                              ["LD_PRELOAD=\(library)", CLITests.executable.path, "bench"] + model
                                                + ["-p", "0", "-n", "\(tokens)", "-t", "\(threads)", "-r", "1"])
            try #require(run.status == 0, "phoenix bench failed: \(run.stderr)")
            let line = try #require(run.stderr.split(separator: "\n").last { $0.hasPrefix("allocations ") })
            return try #require(Int(line.dropFirst("allocations ".count)))
        }
        for threads in [1, 2] {
            let short = try allocations(decoding: 32, threads: threads), long = try allocations(decoding: 160, threads: threads)
            #expect(short > 1000, "the counting library counted \(short): is it loaded?")
            #expect(long - short < 16, "\(long - short) more allocations for 128 more tokens, \(threads) threads")
        }
    }
}
