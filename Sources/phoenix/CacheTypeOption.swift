import ArgumentParser
import PhoenixKernels

/// `--cache-type f16|f32`, llama.cpp's `--cache-type-k`/`--cache-type-v` for keys and values together.
extension KVPrecision: ExpressibleByArgument {}

extension ArgumentHelp {
    static let cacheType = ArgumentHelp(
        "How the KV cache stores keys and values: f16 (half the memory) or f32 (every bit of the arithmetic).",
        valueName: "f16|f32")
}
