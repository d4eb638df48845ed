// swift-tools-version: 6.1
import PackageDescription

// One setting for every target: Swift 6 language mode, explicit existentials.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// Hot loops are written with portable SIMD types; without a CPU target Swift emits SSE2 code that runs
// several times slower. Haswell (AVX2, FMA, F16C) is the x86-64 baseline of every machine Phoenix is
// built for; other architectures get their compiler's default.
#if arch(x86_64)
let kernelSettings = strict + [.unsafeFlags(["-target-cpu", "haswell", "-Ounchecked"])]
// The 512-bit kernels, called only where the CPU has AVX-512 F, CD, BW, DQ, VL and VNNI (checked at run
// time): Intel's since Cascade Lake, AMD's since Zen 4.
let wideKernelSettings = strict + [.unsafeFlags(["-target-cpu", "cascadelake", "-Ounchecked"])]
#else
let kernelSettings = strict + [.unsafeFlags(["-Ounchecked"])]
let wideKernelSettings = kernelSettings
#endif

let package = Package(
    name: "Phoenix",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "phoenix", targets: ["phoenix"]),
        .library(name: "PhoenixQuant", targets: ["PhoenixQuant"]),
        .library(name: "PhoenixGGUF", targets: ["PhoenixGGUF"]),
        .library(name: "PhoenixTokenizer", targets: ["PhoenixTokenizer"]),
        .library(name: "PhoenixPlanner", targets: ["PhoenixPlanner"]),
        .library(name: "PhoenixModels", targets: ["PhoenixModels"]),
        .library(name: "PhoenixEngine", targets: ["PhoenixEngine"]),
        .library(name: "PhoenixServer", targets: ["PhoenixServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The HTTP server; swift-configuration support is left out (the server is configured in code).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Tensor formats as GGUF numbers them: block layouts, reference (de)quantizers.
        .target(name: "PhoenixQuant", swiftSettings: strict),
        // The GGUF container: memory-mapped reader, writer, metadata, tensor infos.
        .target(name: "PhoenixGGUF", dependencies: ["PhoenixQuant"], swiftSettings: strict),
        // The x86 intrinsics from <immintrin.h>, header only, for the kernels that need exact instructions.
        .target(name: "CPhoenixX86"),
        // Kernels in 512-bit registers, for CPUs with AVX-512; PhoenixKernels dispatches to them.
        .target(name: "PhoenixKernelsAVX512", dependencies: ["PhoenixQuant", "CPhoenixX86"], swiftSettings: wideKernelSettings),
        // Every hot loop (matmul, norms, RoPE, attention) and the thread pool; scalar twins in Reference/.
        .target(name: "PhoenixKernels", dependencies: ["PhoenixQuant", "CPhoenixX86", "PhoenixKernelsAVX512"],
                swiftSettings: kernelSettings),
        // Architectures (one file each), shared layers, KV cache, the registry.
        .target(name: "PhoenixModels", dependencies: ["PhoenixGGUF", "PhoenixKernels"], swiftSettings: kernelSettings),
        // Loading, sampling, generation and perplexity: the Swift API other packages use.
        .target(name: "PhoenixEngine", dependencies: ["PhoenixModels", "PhoenixTokenizer"], swiftSettings: strict),
        // Text to token ids and back: SentencePiece-style and byte-level BPE, from GGUF metadata.
        .target(name: "PhoenixTokenizer", dependencies: ["PhoenixGGUF"], swiftSettings: strict),
        // Hardware catalogue, cost models, pipeline schedules, parallelism search; imports no other Phoenix module.
        .target(name: "PhoenixPlanner", resources: [.copy("Resources")], swiftSettings: strict),
        // OpenAI-compatible HTTP routes over a `ServingBackend`, with Prometheus metrics and graceful shutdown.
        .target(
            name: "PhoenixServer",
            dependencies: [
                "PhoenixEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "phoenix",
            dependencies: [
                "PhoenixQuant", "PhoenixGGUF", "PhoenixPlanner", "PhoenixTokenizer", "PhoenixModels", "PhoenixEngine",
                "PhoenixServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .target(name: "PhoenixTestSupport", path: "Tests/Support", swiftSettings: strict),
        .testTarget(name: "PhoenixQuantTests", dependencies: ["PhoenixQuant", "PhoenixTestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "PhoenixPlannerTests", dependencies: ["PhoenixPlanner"], swiftSettings: strict),
        .testTarget(name: "PhoenixKernelsTests", dependencies: ["PhoenixKernels", "PhoenixTestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "PhoenixModelsTests", dependencies: ["PhoenixModels", "PhoenixTestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "PhoenixEngineTests",
                    dependencies: ["PhoenixEngine", "PhoenixModels", "PhoenixKernels", "PhoenixTestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "PhoenixServerTests",
                    dependencies: [
                        "PhoenixServer", "PhoenixEngine",
                        .product(name: "Hummingbird", package: "hummingbird"),
                        .product(name: "HummingbirdTesting", package: "hummingbird"),
                        .product(name: "NIOCore", package: "swift-nio"),
                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    ],
                    swiftSettings: strict),
        .testTarget(name: "PhoenixCLITests", dependencies: ["PhoenixGGUF", "PhoenixTestSupport"], swiftSettings: strict),
        .testTarget(name: "PhoenixGGUFTests", dependencies: ["PhoenixGGUF", "PhoenixTestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "PhoenixTokenizerTests", dependencies: ["PhoenixTokenizer", "PhoenixGGUF", "PhoenixTestSupport"],
                    swiftSettings: strict),
    ]
)
