// The x86 vector intrinsics, for Swift: `import CPhoenixX86` makes `_mm256_madd_epi16` and the rest
// callable, and they compile to single instructions when the caller is built for a CPU that has them
// (PhoenixKernels is built for Haswell: AVX2, FMA, F16C). Elsewhere this header is empty.
#pragma once
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// A hint to fetch the cache line at `p` into every cache level (`_mm_prefetch` is a macro Swift cannot
// call). Harmless anywhere, so it is not limited to x86.
static inline __attribute__((always_inline)) void phoenix_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
