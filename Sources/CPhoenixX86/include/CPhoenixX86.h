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

#if defined(__x86_64__)
// `_mm256_inserti128_si256` and `_mm256_extracti128_si256` are macros (their lane index must be a
// constant), so Swift gets them through these.
static inline __attribute__((always_inline, target("avx2"))) __m256i phoenix_join128(__m128i low, __m128i high) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1);
}
static inline __attribute__((always_inline, target("avx2"))) __m128i phoenix_high128(__m256i v) {
    return _mm256_extracti128_si256(v, 1);
}
// Sixteen int32 lanes (a, then b) to sixteen int16 lanes in order, saturating: `vpackssdw` works within
// each 128-bit half, so its 64-bit quarters come out as a's first four lanes, b's first four, a's last
// four, b's last four, and are put back in order.
static inline __attribute__((always_inline, target("avx2"))) __m256i phoenix_pack_int16(__m256i a, __m256i b) {
    return _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
}
// Sixteen int16 lanes as their eight at even positions, then their eight at odd ones: `vpshufb` sorts
// each 128-bit half, and its 64-bit quarters are put in order as in `phoenix_pack_int16`.
static inline __attribute__((always_inline, target("avx2"))) __m256i phoenix_evens_then_odds_int16(__m256i v) {
    const __m256i order = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                           0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    return _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, order), 0xD8);
}
// The upper half of a 512-bit float register, and one made of two 256-bit halves: the
// intrinsics for them are macros (their lane index is an immediate), which Swift does not import.
static inline __attribute__((always_inline, target("avx512f,avx512dq"))) __m256 phoenix_high256_ps(__m512 v) {
    return _mm512_extractf32x8_ps(v, 1);
}
static inline __attribute__((always_inline, target("avx512f,avx512dq"))) __m512 phoenix_join256_ps(__m256 low, __m256 high) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(low), high, 1);
}
// `v`, from an empty piece of assembly: LLVM can no longer see how it was computed. Where it knows
// the range of a vector's lanes it rewrites some instructions as others; a masked subtraction of 16 from
// nibbles (0...15) became an OR and a masked move, two instructions instead of one.
static inline __attribute__((always_inline, target("avx512f"))) __m512i phoenix_opaque512(__m512i v) {
    __asm__("" : "+v"(v));
    return v;
}
// acc + the products of a's and b's 16-bit lanes, summed in pairs into 32-bit lanes: AVX-512 VNNI's
// `vpdpwssd`, `vpmaddwd` and `vpaddd` in one instruction. Written out because LLVM, for the CPUs it is
// asked to build for, splits `_mm512_dpwssd_epi32` into the two again.
static inline __attribute__((always_inline, target("avx512f,avx512vnni"))) __m512i phoenix_dpwssd512(__m512i acc, __m512i a, __m512i b) {
    __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}
// Returns `p`, from code the Swift compiler cannot see into (shim.c). Vector lanes stored through one
// such pointer and loaded back through another cannot be forwarded from the register, so each load
// stays a broadcast from memory; forwarded, LLVM extracts the lanes with shuffles (see Int16Dot.swift).
float *phoenix_opaque_floats(float *p);
// Every half-precision bit pattern as a float (filled when the program loads, in shim.c). A kernel
// that turns a block's fp16 scale into a float with this does a plain load; converting in registers
// takes shuffles (inserting the 16 bits, the conversion itself), on the one port (on Intel cores) that
// the weights' own shuffles also need.
// The table is declared inside the function so that Swift does not import it as a 65,536-element tuple.
static inline __attribute__((always_inline)) float phoenix_half(unsigned short bits) {
    extern float phoenix_half_table_storage[65536];
    return phoenix_half_table_storage[bits];
}
// Whether this CPU and the operating system run the 512-bit instructions of AVX-512 F, CD, BW, DQ, VL and
// VNNI (the kernels of PhoenixKernelsAVX512, built for Cascade Lake). In shim.c.
int phoenix_has_avx512(void);
#endif
