// Integer products of GGML weight blocks with 8-bit activation blocks, included at the end of
// kernels_body.h (so built twice, like every kernel) and once more by kernels_vnni.c. The AVX2 build
// (TK_AVX2 defined) multiplies bytes with maddubs/madd; the VNNI build (TK_VNNI too) does the
// 32-block types' byte products with one dpbusd each (the same integer sums: no pair saturates in
// maddubs); the portable build computes the same integer block sums in scalar C.
//
// Each weight block's integer dot product with its activation block is exact; only the float
// scale products and the sums over blocks are rounded, so both builds agree up to float summation
// order. Weight rows are walked once per chunk of activation rows and each weight block is unpacked
// once for up to four activation rows.
// (kernels_avx2.c includes <immintrin.h> before switching the target on.)

#include "half_float.h"

// Activation blocks (layouts fixed by the TK_Q8_*_BLOCK_BYTES constants in CKernels.h).
typedef struct { float d; int8_t qs[32]; float s; } tk_q8_32;              // x ≈ d·qs; s = d·Σqs
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } tk_q8_256;  // bsums: sums of 16 qs
_Static_assert(sizeof(tk_q8_32) == TK_Q8_32_BLOCK_BYTES, "tk_q8_32 layout");
_Static_assert(sizeof(tk_q8_256) == TK_Q8_256_BLOCK_BYTES, "tk_q8_256 layout");

#define TK_QINLINE static inline __attribute__((always_inline))

// IEEE half at p (little-endian), exactly.
TK_QINLINE float tk_q_half(const uint8_t *p) {
#if defined(TK_AVX2)
    return _cvtsh_ss((uint16_t)(p[0] | (p[1] << 8)));
#else
    return tk_half_to_float(p);
#endif
}

// Rounds v·inverse to nearest (ties to even) and clamps to [-127, 127].
TK_QINLINE int8_t tk_q_code(float v, float inverse) {
    float r = __builtin_rintf(v * inverse);
    r = fminf(fmaxf(r, -127.0f), 127.0f);
    return (int8_t)(int32_t)r;
}

// Absolute maximum of n values, or NaN when one of them is not finite (so products stay NaN).
TK_QINLINE float tk_q_absmax(const float *v, int n) {
    float m = 0, probe = 0;
    for (int i = 0; i < n; i++) { m = fmaxf(m, fabsf(v[i])); probe += v[i] * 0.0f; }
    return probe == 0.0f ? m : NAN;
}

void KFN(tk_quantize_q8_32)(const float *x, void *out, size_t n) {
    tk_q8_32 *y = (tk_q8_32 *)out;
    for (size_t b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        float amax = tk_q_absmax(v, 32);
        float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        y[b].d = amax / 127.0f;
        int sum = 0;
        for (int i = 0; i < 32; i++) { y[b].qs[i] = tk_q_code(v[i], inverse); sum += y[b].qs[i]; }
        y[b].s = y[b].d * (float)sum;
    }
}

void KFN(tk_quantize_q8_256)(const float *x, void *out, size_t n) {
    tk_q8_256 *y = (tk_q8_256 *)out;
    for (size_t b = 0; b < n / 256; b++) {
        const float *v = x + 256 * b;
        float amax = tk_q_absmax(v, 256);
        float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        y[b].d = amax / 127.0f;
        for (int i = 0; i < 256; i++) y[b].qs[i] = tk_q_code(v[i], inverse);
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += y[b].qs[16 * g + i];
            y[b].bsums[g] = (int16_t)s;
        }
    }
}

// The 6-bit scales and mins of the eight 32-value sub-blocks of a Q4_K/Q5_K block from its 12
// packed bytes: bytes 0–3 / 4–7 hold the low 6 bits of scales / mins 0–3; for sub-blocks 4–7,
// bytes 8–11 hold the low nibbles (scale low, min high) and the top 2 bits come from bits 6–7 of
// bytes 0–3 (scales) and 4–7 (mins).
TK_QINLINE void tk_q_kscales(const uint8_t *s, uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 4; j++) {
        scales[j] = s[j] & 0x3F;
        mins[j] = s[j + 4] & 0x3F;
        scales[j + 4] = (uint8_t)((s[j + 8] & 0x0F) | ((s[j] >> 6) << 4));
        mins[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

#if defined(TK_AVX2)
TK_QINLINE float tk_q_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Eight int32 sums of products of 32 signed bytes w and x (|w|, |x| ≤ 128, so no pair saturates).
TK_QINLINE __m256i tk_q_dot_i8(__m256i w, __m256i x) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// 32 bytes of 4-bit values from 16 packed bytes: byte j's low nibble, then (from byte 16) the high.
TK_QINLINE __m256i tk_q_nibbles32(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 0x10 in byte j where bit j of the little-endian u32 at p is set.
TK_QINLINE __m256i tk_q_bit4_from_bits32(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int32_t)bits),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    __m256i mask = _mm256_set1_epi64x(0x8040201008040201LL);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Weight block b of a 32-block type and its scale. Q8_0 (type 8) is returned signed; Q4_0 (2) and
// Q5_0 (6) unsigned (0…15 / 0…31), the weight being the value minus 8 / 16, which the caller
// subtracts through the activation block's code sum.
TK_QINLINE __m256i tk_q_block32(int type, const uint8_t *w, size_t b, float *d) {
    switch (type) {
    case 8: { const uint8_t *p = w + 34 * b; *d = tk_q_half(p); return _mm256_loadu_si256((const __m256i *)(p + 2)); }
    case 2: { const uint8_t *p = w + 18 * b; *d = tk_q_half(p); return tk_q_nibbles32(p + 2); }
    default: { const uint8_t *p = w + 22 * b; *d = tk_q_half(p);
               return _mm256_or_si256(tk_q_nibbles32(p + 6), tk_q_bit4_from_bits32(p + 2)); }
    }
}

// Adds weight block b times activation block b of each of the nx rows to acc[j] (and, for the
// unsigned types, d_w · d_x·Σcodes to offset[j]).
TK_QINLINE void tk_q_block32_step(int type, const uint8_t *w, size_t b, const uint8_t *x, size_t xs, const int nx,
                                  __m256 *acc, float *offset) {
    float dw;
    __m256i q = tk_q_block32(type, w, b, &dw);
    __m256i magnitude = type == 8 ? _mm256_sign_epi8(q, q) : q;
    for (int j = 0; j < nx; j++) {
        const tk_q8_32 *xb = (const tk_q8_32 *)(x + j * xs) + b;
        __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
        if (type == 8) y = _mm256_sign_epi8(y, q);
#if defined(TK_VNNI)
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), magnitude, y);  // the same sums, one instruction
#else
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, y), _mm256_set1_epi16(1));
#endif
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xb->d), _mm256_cvtepi32_ps(p), acc[j]);
        if (type != 8) offset[j] += dw * xb->s;
    }
}

// out[j] = weight row w · activation row j (j < nx), for the 32-block types. Even and odd blocks
// go to separate accumulators, so one row's blocks do not wait on each other's fmadd.
TK_QINLINE void tk_q_rows_b32(int type, const uint8_t *w, const uint8_t *x, size_t xs, const int nx, size_t nb, float *out) {
    __m256 even[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    __m256 odd[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    float even_offset[4] = { 0, 0, 0, 0 }, odd_offset[4] = { 0, 0, 0, 0 };
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        tk_q_block32_step(type, w, b, x, xs, nx, even, even_offset);
        tk_q_block32_step(type, w, b + 1, x, xs, nx, odd, odd_offset);
    }
    if (b < nb) tk_q_block32_step(type, w, b, x, xs, nx, even, even_offset);
    const float zero_point = type == 2 ? 8.0f : 16.0f;
    for (int j = 0; j < nx; j++) {
        float sum = tk_q_hsum(_mm256_add_ps(even[j], odd[j]));
        out[j] = type == 8 ? sum : sum - zero_point * (even_offset[j] + odd_offset[j]);
    }
}

// Sum over the 8 sub-blocks of mins[s] · (bsums[2s] + bsums[2s+1]), as eight int32 lanes.
TK_QINLINE __m256i tk_q_min_products(const uint8_t mins[8], const int16_t *bsums) {
    __m128i m8 = _mm_loadl_epi64((const __m128i *)mins);
    __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), m16);
}

// Sub-blocks 2k (lo) and 2k+1 (hi) of a Q4_K (type 12) / Q5_K (13) block as unsigned bytes, from
// its 4-bit codes qs and, for Q5_K, the fifth bits in *high (shifted on for the next pair).
TK_QINLINE void tk_q_k45_pair(int type, const uint8_t *qs, int k, __m256i *high, __m256i *lo, __m256i *hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
    __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * k));
    *lo = _mm256_and_si256(q, low4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    if (type == 13) {
        *lo = _mm256_or_si256(*lo, _mm256_and_si256(_mm256_slli_epi16(*high, 4), bit4));
        *hi = _mm256_or_si256(*hi, _mm256_and_si256(_mm256_slli_epi16(*high, 3), bit4));
        *high = _mm256_srli_epi16(*high, 2);
    }
}

// Q4_K (type 12) and Q5_K (13): 256 values in 8 sub-blocks of 32, value = d·scale·q − dmin·min.
TK_QINLINE void tk_q_rows_k45(int type, const uint8_t *w, const uint8_t *x, size_t xs, const int nx, size_t nb, float *out) {
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    const size_t bytes = type == 12 ? 144 : 176;
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *p = w + bytes * b;
        float d = tk_q_half(p), dmin = tk_q_half(p + 2);
        uint8_t scales[8], mins[8];
        tk_q_kscales(p + 4, scales, mins);
        const uint8_t *qs = p + (type == 12 ? 16 : 48);
        __m256i high = type == 13 ? _mm256_loadu_si256((const __m256i *)(p + 16)) : _mm256_setzero_si256();
        __m256i sums[4] = { _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256() };
        for (int k = 0; k < 4; k++) {
            __m256i lo, hi;
            tk_q_k45_pair(type, qs, k, &high, &lo, &hi);
            __m256i s0 = _mm256_set1_epi16(scales[2 * k]), s1 = _mm256_set1_epi16(scales[2 * k + 1]);
            for (int j = 0; j < nx; j++) {
                const tk_q8_256 *xb = (const tk_q8_256 *)(x + j * xs) + b;
                __m256i y0 = _mm256_loadu_si256((const __m256i *)(xb->qs + 64 * k));
                __m256i y1 = _mm256_loadu_si256((const __m256i *)(xb->qs + 64 * k + 32));
                __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s0);
                __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s1);
                sums[j] = _mm256_add_epi32(sums[j], _mm256_add_epi32(p0, p1));
            }
        }
        for (int j = 0; j < nx; j++) {
            const tk_q8_256 *xb = (const tk_q8_256 *)(x + j * xs) + b;
            __m256 dot = _mm256_mul_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(sums[j]));
            __m256 minimum = _mm256_mul_ps(_mm256_set1_ps(dmin * xb->d), _mm256_cvtepi32_ps(tk_q_min_products(mins, xb->bsums)));
            acc[j] = _mm256_add_ps(acc[j], _mm256_sub_ps(dot, minimum));
        }
    }
    for (int j = 0; j < nx; j++) out[j] = tk_q_hsum(acc[j]);
}

// Q6_K (type 14): 256 values q − 32 with q 6-bit, sixteen int8 scales (one per 16 values).
// q·y is summed unsigned and 32·Σ scale·bsum subtracted.
TK_QINLINE void tk_q_rows_q6k(const uint8_t *w, const uint8_t *x, size_t xs, const int nx, size_t nb, float *out) {
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *p = w + 210 * b;
        const uint8_t *ql = p, *qh = p + 128;
        const int8_t *sc = (const int8_t *)(p + 192);
        float d = tk_q_half(p + 208);
        __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        __m256i sums[4] = { _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256() };
        for (int h = 0; h < 2; h++) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(ql + 64 * h));
            __m256i c = _mm256_loadu_si256((const __m256i *)(ql + 64 * h + 32));
            __m256i hb = _mm256_loadu_si256((const __m256i *)(qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x03)), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(c, low4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x0C)), 2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(hb, _mm256_set1_epi8(0x30)));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4),
                                   _mm256_srli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8((char)0xC0)), 2));
            __m256i s[4];
            for (int k = 0; k < 4; k++) {
                int g = 8 * h + 2 * k;
                s[k] = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
            }
            for (int j = 0; j < nx; j++) {
                const tk_q8_256 *xb = (const tk_q8_256 *)(x + j * xs) + b;
                for (int k = 0; k < 4; k++) {
                    __m256i y = _mm256_loadu_si256((const __m256i *)(xb->qs + 128 * h + 32 * k));
                    sums[j] = _mm256_add_epi32(sums[j], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], y), s[k]));
                }
            }
        }
        for (int j = 0; j < nx; j++) {
            const tk_q8_256 *xb = (const tk_q8_256 *)(x + j * xs) + b;
            __m256i offset = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)xb->bsums), scales16);
            __m256i total = _mm256_sub_epi32(sums[j], _mm256_slli_epi32(offset, 5));
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(total), acc[j]);
        }
    }
    for (int j = 0; j < nx; j++) out[j] = tk_q_hsum(acc[j]);
}

#else  // portable

// Signed values of 32-block b of a Q8_0 / Q4_0 / Q5_0 row, and its scale.
TK_QINLINE float tk_q_block32(int type, const uint8_t *w, size_t b, int8_t q[32]) {
    if (type == 8) { const uint8_t *p = w + 34 * b; memcpy(q, p + 2, 32); return tk_q_half(p); }
    if (type == 2) {
        const uint8_t *p = w + 18 * b;
        for (int j = 0; j < 16; j++) { q[j] = (int8_t)((p[2 + j] & 0x0F) - 8); q[j + 16] = (int8_t)((p[2 + j] >> 4) - 8); }
        return tk_q_half(p);
    }
    const uint8_t *p = w + 22 * b;
    uint32_t bits = (uint32_t)p[2] | ((uint32_t)p[3] << 8) | ((uint32_t)p[4] << 16) | ((uint32_t)p[5] << 24);
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(((p[6 + j] & 0x0F) | (((bits >> j) & 1) << 4)) - 16);
        q[j + 16] = (int8_t)(((p[6 + j] >> 4) | (((bits >> (j + 16)) & 1) << 4)) - 16);
    }
    return tk_q_half(p);
}

TK_QINLINE void tk_q_rows_b32(int type, const uint8_t *w, const uint8_t *x, size_t xs, const int nx, size_t nb, float *out) {
    float acc[4] = { 0, 0, 0, 0 };
    int8_t q[32];
    for (size_t b = 0; b < nb; b++) {
        float dw = tk_q_block32(type, w, b, q);
        for (int j = 0; j < nx; j++) {
            const tk_q8_32 *xb = (const tk_q8_32 *)(x + j * xs) + b;
            int32_t s = 0;
            for (int i = 0; i < 32; i++) s += q[i] * xb->qs[i];
            acc[j] += dw * xb->d * (float)s;
        }
    }
    for (int j = 0; j < nx; j++) out[j] = acc[j];
}

// The 256 unsigned values of a Q4_K (type 12) / Q5_K (13) block in value order.
TK_QINLINE void tk_q_k45_values(int type, const uint8_t *p, uint8_t v[256]) {
    const uint8_t *qs = p + (type == 12 ? 16 : 48), *qh = p + 16;
    for (int k = 0; k < 4; k++) {
        for (int l = 0; l < 32; l++) {
            uint8_t lo = qs[32 * k + l] & 0x0F, hi = qs[32 * k + l] >> 4;
            if (type == 13) {
                lo |= ((qh[l] >> (2 * k)) & 1) << 4;
                hi |= ((qh[l] >> (2 * k + 1)) & 1) << 4;
            }
            v[64 * k + l] = lo;
            v[64 * k + 32 + l] = hi;
        }
    }
}

TK_QINLINE void tk_q_rows_k45(int type, const uint8_t *w, const uint8_t *x, size_t xs, const int nx, size_t nb, float *out) {
    float acc[4] = { 0, 0, 0, 0 };
    const size_t bytes = type == 12 ? 144 : 176;
    uint8_t v[256];
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *p = w + bytes * b;
        float d = tk_q_half(p), dmin = tk_q_half(p + 2);
        uint8_t scales[8], mins[8];
        tk_q_kscales(p + 4, scales, mins);
        tk_q_k45_values(type, p, v);
        for (int j = 0; j < nx; j++) {
            const tk_q8_256 *xb = (const tk_q8_256 *)(x + j * xs) + b;
            int32_t dot = 0, minimum = 0;
            for (int s = 0; s < 8; s++) {
                int32_t part = 0;
                for (int i = 0; i < 32; i++) part += v[32 * s + i] * xb->qs[32 * s + i];
                dot += scales[s] * part;
                minimum += mins[s] * (xb->bsums[2 * s] + xb->bsums[2 * s + 1]);
            }
            acc[j] += d * xb->d * (float)dot - dmin * xb->d * (float)minimum;
        }
    }
    for (int j = 0; j < nx; j++) out[j] = acc[j];
}

TK_QINLINE void tk_q_rows_q6k(const uint8_t *w, const uint8_t *x, size_t xs, const int nx, size_t nb, float *out) {
    float acc[4] = { 0, 0, 0, 0 };
    int8_t v[256];
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *p = w + 210 * b;
        const uint8_t *ql = p, *qh = p + 128;
        const int8_t *sc = (const int8_t *)(p + 192);
        float d = tk_q_half(p + 208);
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                uint8_t a = ql[64 * h + l], c = ql[64 * h + 32 + l], hb = qh[32 * h + l];
                v[128 * h + l] = (int8_t)(((a & 0x0F) | ((hb & 0x03) << 4)) - 32);
                v[128 * h + 32 + l] = (int8_t)(((c & 0x0F) | ((hb & 0x0C) << 2)) - 32);
                v[128 * h + 64 + l] = (int8_t)(((a >> 4) | (hb & 0x30)) - 32);
                v[128 * h + 96 + l] = (int8_t)(((c >> 4) | ((hb & 0xC0) >> 2)) - 32);
            }
        }
        for (int j = 0; j < nx; j++) {
            const tk_q8_256 *xb = (const tk_q8_256 *)(x + j * xs) + b;
            int32_t dot = 0;
            for (int g = 0; g < 16; g++) {
                int32_t part = 0;
                for (int i = 0; i < 16; i++) part += v[16 * g + i] * xb->qs[16 * g + i];
                dot += sc[g] * part;
            }
            acc[j] += d * xb->d * (float)dot;
        }
    }
    for (int j = 0; j < nx; j++) out[j] = acc[j];
}
#endif

// out[j] = row w · activation row j for j < nx (≤ 4), nb blocks.
TK_QINLINE void tk_q_rows(int type, const uint8_t *w, const uint8_t *x, size_t xs, const int nx, size_t nb, float *out) {
    switch (type) {
    case 2: tk_q_rows_b32(2, w, x, xs, nx, nb, out); break;
    case 6: tk_q_rows_b32(6, w, x, xs, nx, nb, out); break;
    case 8: tk_q_rows_b32(8, w, x, xs, nx, nb, out); break;
    case 12: tk_q_rows_k45(12, w, x, xs, nx, nb, out); break;
    case 13: tk_q_rows_k45(13, w, x, xs, nx, nb, out); break;
    case 14: tk_q_rows_q6k(w, x, xs, nx, nb, out); break;
    default: for (int j = 0; j < nx; j++) out[j] = NAN;
    }
}

void KFN(tk_qmatmul)(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                     size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy) {
    const size_t block = type == 12 || type == 13 || type == 14 ? 256 : 32, nb = k / block;
    // Activation rows per pass over the weight rows: about 32 KB of them (they stay in L1 while
    // the weight rows stream past), a multiple of 4.
    size_t chunk = (32 * 1024 / (x_row_bytes ? x_row_bytes : 1)) & ~(size_t)3;
    if (chunk < 4) chunk = 4;
    const uint8_t *wb = (const uint8_t *)w, *xb = (const uint8_t *)xq;
    for (size_t i0 = 0; i0 < m; i0 += chunk) {
        size_t i1 = i0 + chunk < m ? i0 + chunk : m;
        for (size_t r = 0; r < rows; r++) {
            const uint8_t *wr = wb + r * w_row_bytes;
            for (size_t i = i0; i < i1; i += 4) {
                float o[4];
                const uint8_t *xr = xb + i * x_row_bytes;
                size_t nx = i1 - i;
                switch (nx) {
                case 1: tk_q_rows(type, wr, xr, x_row_bytes, 1, nb, o); break;
                case 2: tk_q_rows(type, wr, xr, x_row_bytes, 2, nb, o); break;
                case 3: tk_q_rows(type, wr, xr, x_row_bytes, 3, nb, o); break;
                default: nx = 4; tk_q_rows(type, wr, xr, x_row_bytes, 4, nb, o); break;
                }
                for (size_t j = 0; j < nx; j++) y[(i + j) * ldy + r] = o[j];
            }
        }
    }
}

// bitsandbytes 4-bit (NF4/FP4) rows times Float32 activations: W[r][c] = table[code]·absmax[block],
// two codes a byte with the even element in the high nibble, blocks of block_size elements over the
// row-major matrix that never straddle rows (columns is a multiple of block_size, itself a multiple
// of 16). Each decoded group of 16 weights is used for up to four activation rows.
TK_QINLINE void tk_fourbit_rows(const uint8_t *codes, const float *absmax, const float *table, size_t block_size,
                                size_t columns, const float *x, size_t ldx, const int nx, float *out) {
#if defined(TK_AVX2)
    const __m256 lo_table = _mm256_loadu_ps(table), hi_table = _mm256_loadu_ps(table + 8);
    const __m128i low4 = _mm_set1_epi8(0x0F);
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (size_t b0 = 0; b0 < columns; b0 += block_size) {
        __m256 scale = _mm256_set1_ps(absmax[b0 / block_size]);
        for (size_t c = b0; c < b0 + block_size; c += 16) {
            __m128i bytes = _mm_loadl_epi64((const __m128i *)(codes + c / 2));
            __m128i nib = _mm_unpacklo_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), low4), _mm_and_si128(bytes, low4));
            __m256i i0 = _mm256_cvtepu8_epi32(nib), i1 = _mm256_cvtepu8_epi32(_mm_srli_si128(nib, 8));
            __m256 w0 = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo_table, i0), _mm256_permutevar8x32_ps(hi_table, i0),
                                         _mm256_castsi256_ps(_mm256_slli_epi32(i0, 28)));
            __m256 w1 = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo_table, i1), _mm256_permutevar8x32_ps(hi_table, i1),
                                         _mm256_castsi256_ps(_mm256_slli_epi32(i1, 28)));
            w0 = _mm256_mul_ps(w0, scale);
            w1 = _mm256_mul_ps(w1, scale);
            for (int j = 0; j < nx; j++) {
                const float *xr = x + j * ldx + c;
                acc[j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr), acc[j]);
                acc[j] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xr + 8), acc[j]);
            }
        }
    }
    for (int j = 0; j < nx; j++) out[j] = tk_q_hsum(acc[j]);
#else
    float acc[4] = { 0, 0, 0, 0 };
    for (size_t b0 = 0; b0 < columns; b0 += block_size) {
        float scale = absmax[b0 / block_size];
        for (size_t c = b0; c < b0 + block_size; c += 2) {
            uint8_t byte = codes[c / 2];
            float w0 = table[byte >> 4] * scale, w1 = table[byte & 0x0F] * scale;
            for (int j = 0; j < nx; j++) acc[j] += w0 * x[j * ldx + c] + w1 * x[j * ldx + c + 1];
        }
    }
    for (int j = 0; j < nx; j++) out[j] = acc[j];
#endif
}

void KFN(tk_fourbit_matmul)(const uint8_t *codes, const float *absmax, const float *table, size_t block_size,
                            size_t rows, size_t columns, const float *x, size_t m, float *y, size_t ldy) {
    const size_t row_bytes = columns / 2, row_blocks = columns / block_size;
    // Activation rows per pass over the weight rows: about 32 KB of them, a multiple of 4.
    size_t chunk = (8 * 1024 / (columns ? columns : 1)) & ~(size_t)3;
    if (chunk < 4) chunk = 4;
    for (size_t i0 = 0; i0 < m; i0 += chunk) {
        size_t i1 = i0 + chunk < m ? i0 + chunk : m;
        for (size_t r = 0; r < rows; r++) {
            const uint8_t *wr = codes + r * row_bytes;
            const float *ar = absmax + r * row_blocks;
            for (size_t i = i0; i < i1; i += 4) {
                float o[4];
                const float *xr = x + i * columns;
                size_t nx = i1 - i;
                switch (nx) {
                case 1: tk_fourbit_rows(wr, ar, table, block_size, columns, xr, columns, 1, o); break;
                case 2: tk_fourbit_rows(wr, ar, table, block_size, columns, xr, columns, 2, o); break;
                case 3: tk_fourbit_rows(wr, ar, table, block_size, columns, xr, columns, 3, o); break;
                default: nx = 4; tk_fourbit_rows(wr, ar, table, block_size, columns, xr, columns, 4, o); break;
                }
                for (size_t j = 0; j < nx; j++) y[(i + j) * ldy + r] = o[j];
            }
        }
    }
}

// LLM.int8 rows times Float32 activations: W[r][c] = (code·scale[r])·(1/127) — the dequantized
// weight exactly — multiplied as it is decoded, each group of 16 for up to four activation rows.
TK_QINLINE void tk_int8_rows(const int8_t *codes, float scale, size_t columns, const float *x, size_t ldx,
                             const int nx, float *out) {
    const float inverse127 = 7.874015718698502e-3f;
    size_t c = 0;
    float tail[4] = { 0, 0, 0, 0 };
#if defined(TK_AVX2)
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    const __m256 s = _mm256_set1_ps(scale), inv = _mm256_set1_ps(inverse127);
    for (; c + 16 <= columns; c += 16) {
        __m128i q = _mm_loadu_si128((const __m128i *)(codes + c));
        __m256 w0 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), s), inv);
        __m256 w1 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8))), s), inv);
        for (int j = 0; j < nx; j++) {
            const float *xr = x + j * ldx + c;
            acc[j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr), acc[j]);
            acc[j] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xr + 8), acc[j]);
        }
    }
    for (int j = 0; j < nx; j++) tail[j] = tk_q_hsum(acc[j]);
#endif
    for (; c < columns; c++) {
        float w = (float)codes[c] * scale * inverse127;
        for (int j = 0; j < nx; j++) tail[j] += w * x[j * ldx + c];
    }
    for (int j = 0; j < nx; j++) out[j] = tail[j];
}

void KFN(tk_int8_matmul)(const int8_t *codes, const float *scales, size_t rows, size_t columns, const float *x,
                         size_t m, float *y, size_t ldy) {
    // Activation rows per pass over the weight rows: about 32 KB of them, a multiple of 4.
    size_t chunk = (8 * 1024 / (columns ? columns : 1)) & ~(size_t)3;
    if (chunk < 4) chunk = 4;
    for (size_t i0 = 0; i0 < m; i0 += chunk) {
        size_t i1 = i0 + chunk < m ? i0 + chunk : m;
        for (size_t r = 0; r < rows; r++) {
            const int8_t *wr = codes + r * columns;
            for (size_t i = i0; i < i1; i += 4) {
                float o[4];
                const float *xr = x + i * columns;
                size_t nx = i1 - i;
                switch (nx) {
                case 1: tk_int8_rows(wr, scales[r], columns, xr, columns, 1, o); break;
                case 2: tk_int8_rows(wr, scales[r], columns, xr, columns, 2, o); break;
                case 3: tk_int8_rows(wr, scales[r], columns, xr, columns, 3, o); break;
                default: nx = 4; tk_int8_rows(wr, scales[r], columns, xr, columns, 4, o); break;
                }
                for (size_t j = 0; j < nx; j++) y[(i + j) * ldy + r] = o[j];
            }
        }
    }
}
