import Foundation
import PhoenixGGUF
import Testing

@Suite struct ModelLocatorTests {
    static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("phoenix-locator-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func explicitPathThenEnvironmentThenCache() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/m.gguf"
        FileManager.default.createFile(atPath: file, contents: Data([1, 2, 3]))
        #expect(try ModelLocator.resolve(explicitPath: file, environment: [:]) == file)
        #expect(try ModelLocator.resolve(explicitPath: nil, environment: ["PHOENIX_MODEL": file]) == file)
        #expect(throws: ModelLocator.Failure.notFound(path: folder + "/x.gguf", source: "--model")) {
            try ModelLocator.resolve(explicitPath: folder + "/x.gguf", environment: ["PHOENIX_MODEL": file])
        }
        #expect(throws: ModelLocator.Failure.notFound(path: "/nope.gguf", source: "$PHOENIX_MODEL")) {
            try ModelLocator.resolve(explicitPath: nil, environment: ["PHOENIX_MODEL": "/nope.gguf"])
        }
    }

    @Test func missingOrUnverifiedDefaultModelNamesTheInstallCommand() throws {
        let cache = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let environment = ["PHOENIX_CACHE": cache]
        let path = cache + "/" + ModelLocator.defaultModelFileName
        #expect(throws: ModelLocator.Failure.defaultModelMissing(path: path)) {
            try ModelLocator.resolve(explicitPath: nil, environment: environment)
        }
        #expect(ModelLocator.Failure.defaultModelMissing(path: path).description.contains("Scripts/install-model.sh"))
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 10))
        #expect(throws: ModelLocator.Failure.defaultModelUnverified(path: path)) {
            try ModelLocator.resolve(explicitPath: nil, environment: environment)
        }
        // A marker for another size (the file changed after it was checked) does not count.
        try "\(ModelLocator.defaultModelSHA256) 11\n".write(toFile: ModelLocator.verificationMarkerPath(for: path),
                                                          atomically: true, encoding: .utf8)
        #expect(throws: ModelLocator.Failure.defaultModelUnverified(path: path)) {
            try ModelLocator.resolve(explicitPath: nil, environment: environment)
        }
        try "\(ModelLocator.defaultModelSHA256) 10\n".write(toFile: ModelLocator.verificationMarkerPath(for: path),
                                                          atomically: true, encoding: .utf8)
        #expect(try ModelLocator.resolve(explicitPath: nil, environment: environment) == path)
    }

    @Test func cacheFolderFollowsTheEnvironment() {
        #expect(ModelLocator.cacheDirectory(environment: ["PHOENIX_CACHE": "/a"]) == "/a")
        #expect(ModelLocator.cacheDirectory(environment: ["XDG_CACHE_HOME": "/x"]) == "/x/phoenix")
        #expect(ModelLocator.cacheDirectory(environment: ["HOME": "/h"]) == "/h/.cache/phoenix")
    }
}
