// The table behind `phoenix_half`, filled when the program loads: Swift would check a lazily
// initialized global on every access, and the loop that fills it runs once. Also
// `phoenix_opaque_floats`, which must not be inlined. Everything else lives in the header.
#include "CPhoenixX86.h"

#if defined(__x86_64__)
float phoenix_half_table_storage[65536];

__attribute__((constructor, target("f16c"))) static void phoenix_fill_half_table(void) {
    for (unsigned bits = 0; bits < 65536; bits++) phoenix_half_table_storage[bits] = _cvtsh_ss((unsigned short)bits);
}

float *phoenix_opaque_floats(float *p) { return p; }

// The compiler's CPU model reports the AVX-512 features only where the operating system saves the
// 512-bit registers (XCR0), so a true answer means the instructions can run.
int phoenix_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
#endif
