// The integer block products built once more for CPUs with AVX-512 VNNI on 256-bit vectors
// (x86_64 only), the run-time choice of tk_qmatmul among the three builds, and the VNNI build of
// the panel products (qpanel_vnni_body.h, on 512-bit vectors).
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include "CKernels.h"

void tk_qmatmul_avx2(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                     size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy);
void tk_qmatmul_portable(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                         size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy);

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang fp reassociate(on) contract(fast)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"))), apply_to = function)
#define KFN(name) name##_vnni
#define TK_AVX2 1
#define TK_VNNI 1
#include "quant_kernels_body.h"
#include "qpanel_vnni_body.h"
#pragma clang attribute pop
#endif

static atomic_int tk_vnni_choice = -1;  // -1 unknown, 0 no, 1 yes
static atomic_int tk_vnni_disabled = 0;

int tk_uses_vnni(void) {
    if (!tk_uses_avx2() || atomic_load_explicit(&tk_vnni_disabled, memory_order_relaxed)) return 0;
    int c = atomic_load_explicit(&tk_vnni_choice, memory_order_relaxed);
    if (c < 0) {
#if defined(__x86_64__)
        __builtin_cpu_init();
        c = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
#else
        c = 0;
#endif
        atomic_store_explicit(&tk_vnni_choice, c, memory_order_relaxed);
    }
    return c;
}

void tk_disable_vnni(int disabled) { atomic_store_explicit(&tk_vnni_disabled, disabled ? 1 : 0, memory_order_relaxed); }

void tk_qmatmul(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy) {
#if defined(__x86_64__)
    if (tk_uses_vnni()) { tk_qmatmul_vnni(type, w, w_row_bytes, rows, xq, x_row_bytes, m, k, y, ldy); return; }
    if (tk_uses_avx2()) { tk_qmatmul_avx2(type, w, w_row_bytes, rows, xq, x_row_bytes, m, k, y, ldy); return; }
#endif
    tk_qmatmul_portable(type, w, w_row_bytes, rows, xq, x_row_bytes, m, k, y, ldy);
}
