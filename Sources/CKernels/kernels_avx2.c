// The kernels built for AVX2 + FMA (x86_64 only). Selected at run time in dispatch.c.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define KFN(name) name##_avx2
#define TK_AVX2 1
#include "kernels_body.h"
#pragma clang attribute pop
#endif
