// The AVX-512 VNNI build of the panel products (see CKernels.h), included by kernels_vnni.c after
// quant_kernels_body.h (whose AVX2 block decoders and helpers it reuses) with the VNNI target switched on.
//
// A panel sub-block holds, for each group of four columns, 16 rows × 4 unsigned codes: one zmm.
// One `vpdpbusd` multiplies it with four activation codes broadcast to every lane, adding four
// products to each of the 16 rows' sums. A sub-block's integer sums (exact) are then scaled by
// the rows' scales times the activation block's d; zero points come off the integer sums
// (−zero·Σcodes), Float32 minimums off the scaled sums (min·d·Σcodes).
#include "qpanel_layout.h"

// tk_qpanel_quantize on 512-bit vectors: the same roundings, so the same bytes.
void tk_qpanel_quantize_vnni(const float *x, void *out, size_t k) {
    uint8_t *o = (uint8_t *)out;
    float *scales = (float *)(o + tk_qpanel_x_scales(k)), *scaled = (float *)(o + tk_qpanel_x_scaled_sums(k));
    int32_t *sums32 = (int32_t *)(o + tk_qpanel_x_sums32(k)), *sums16 = (int32_t *)(o + tk_qpanel_x_sums16(k));
    const __m512 limit = _mm512_set1_ps(127.0f), zero = _mm512_setzero_ps();
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF);
    for (size_t b = 0; b < k / 32; b++) {
        const __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
        const __m512 a0 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v0), magnitude));
        const __m512 a1 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v1), magnitude));
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
        // NaN when a value is not finite (inf·0 and NaN·0 are NaN).
        float probe = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_mul_ps(v0, zero), _mm512_mul_ps(v1, zero)));
        if (probe != 0.0f) amax = NAN;
        const float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        const __m512 inv = _mm512_set1_ps(inverse);
        __m512 r0 = _mm512_roundscale_ps(_mm512_mul_ps(v0, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512 r1 = _mm512_roundscale_ps(_mm512_mul_ps(v1, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        r0 = _mm512_min_ps(_mm512_max_ps(r0, _mm512_sub_ps(zero, limit)), limit);
        r1 = _mm512_min_ps(_mm512_max_ps(r1, _mm512_sub_ps(zero, limit)), limit);
        const __m512i c0 = _mm512_cvttps_epi32(r0), c1 = _mm512_cvttps_epi32(r1);
        _mm_storeu_si128((__m128i *)(o + 32 * b), _mm512_cvtepi32_epi8(c0));
        _mm_storeu_si128((__m128i *)(o + 32 * b + 16), _mm512_cvtepi32_epi8(c1));
        const int32_t h0 = _mm512_reduce_add_epi32(c0), h1 = _mm512_reduce_add_epi32(c1);
        scales[b] = amax / 127.0f;
        scaled[b] = scales[b] * (float)(h0 + h1);
        sums32[b] = h0 + h1;
        sums16[2 * b] = h0;
        sums16[2 * b + 1] = h1;
    }
}

// The 32 unsigned codes of sub-block s of row r of a 32-value-block source, and their scale.
TK_QINLINE __m256i tk_qpanel_codes32(const tk_qpanel_source *src, int32_t type, size_t k, size_t r, size_t s, float *scale) {
    const uint8_t *row = src->w + r * src->row_bytes;
    if (type == TK_QPANEL_INT8) {
        *scale = src->scales[r] * (1.0f / 127.0f);
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(row + 32 * s)), _mm256_set1_epi8((char)0x80));
    }
    if (type == TK_QPANEL_FOURBIT) {
        *scale = src->absmax[(r * k + 32 * s) / src->block_size] * (1.0f / 127.0f);
        const __m128i bytes = _mm_loadu_si128((const __m128i *)(row + 16 * s)), low4 = _mm_set1_epi8(0x0F);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low4), lo = _mm_and_si128(bytes, low4);
        const __m128i table = _mm_loadu_si128((const __m128i *)src->table127);
        return _mm256_set_m128i(_mm_shuffle_epi8(table, _mm_unpackhi_epi8(hi, lo)), _mm_shuffle_epi8(table, _mm_unpacklo_epi8(hi, lo)));
    }
    __m256i q = tk_q_block32(type, row, s, scale);
    return type == 8 ? _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80)) : q;
}

// Packs weight rows r0 … r0+16 (zeros past `rows`) of a 32-value-block source into a panel.
TK_QINLINE void tk_qpanel_pack_b32(const tk_qpanel_source *src, int32_t type, size_t rows, size_t r0, size_t k, uint8_t *panel) {
    const __m512i gather = _mm512_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120);
    const __m512 zero_point = _mm512_set1_ps((float)tk_qpanel_zero(type));
    int32_t codes[16 * 8] __attribute__((aligned(64)));
    float scales[16] __attribute__((aligned(64)));
    const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
    if (nr < 16) { memset(codes, 0, sizeof codes); memset(scales, 0, sizeof scales); }
    for (size_t s = 0; s < k / 32; s++) {
        uint8_t *block = panel + s * tk_qpanel_sub_bytes(32);
        for (size_t r = 0; r < nr; r++)
            _mm256_store_si256((__m256i *)(codes + 8 * r), tk_qpanel_codes32(src, type, k, r0 + r, s, &scales[r]));
        for (int g = 0; g < 8; g++)
            _mm512_storeu_si512((void *)(block + 64 * g), _mm512_i32gather_epi32(gather, codes + g, 4));
        __m512 scale = _mm512_load_ps(scales);
        _mm512_storeu_ps((float *)(block + 512), scale);
        _mm512_storeu_ps((float *)(block + 576), _mm512_mul_ps(scale, zero_point));
    }
}

// Packs columns c0 … c0+16 (zeros past `columns`) of a Float32 matrix as a panel: each column's
// 32-row sub-block is rounded to 8 bits (steps of its absmax / 127) and shifted to 0…255.
TK_QINLINE void tk_qpanel_pack_f32t(const tk_qpanel_source *src, size_t columns, size_t c0, size_t k, uint8_t *panel) {
    const size_t nc = columns - c0 < 16 ? columns - c0 : 16;
    const __mmask16 mask = (__mmask16)((1u << nc) - 1);
    const __m512 limit = _mm512_set1_ps(127.0f), low = _mm512_set1_ps(-127.0f);
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF), shift = _mm512_set1_epi32(128);
    for (size_t s = 0; s < k / 32; s++) {
        const float *rows = src->f32 + 32 * s * src->ld + c0;
        __m512 v[32], amax = _mm512_setzero_ps();
        for (int i = 0; i < 32; i++) {
            v[i] = _mm512_maskz_loadu_ps(mask, rows + i * src->ld);
            amax = _mm512_max_ps(amax, _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v[i]), magnitude)));
        }
        const __mmask16 positive = _mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_GT_OQ);
        const __m512 inverse = _mm512_maskz_div_ps(positive, limit, amax);
        uint8_t *block = panel + s * tk_qpanel_sub_bytes(32);
        for (int g = 0; g < 8; g++) {
            __m512i four = _mm512_setzero_si512();
            for (int j = 0; j < 4; j++) {
                __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(v[4 * g + j], inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                r = _mm512_min_ps(_mm512_max_ps(r, low), limit);
                __m512i code = _mm512_add_epi32(_mm512_cvttps_epi32(r), shift);
                four = _mm512_or_si512(four, _mm512_slli_epi32(code, 8 * j));
            }
            _mm512_storeu_si512((void *)(block + 64 * g), four);
        }
        const __m512 scale = _mm512_div_ps(amax, limit);
        _mm512_storeu_ps((float *)(block + 512), scale);
        _mm512_storeu_ps((float *)(block + 576), _mm512_mul_ps(scale, _mm512_set1_ps(128.0f)));
    }
}

// The 256 unsigned codes of row block b of a Q4_K (type 12) / Q5_K (13) row into q (value order),
// its eight sub-block scales and minimums into scale[8·16] / min[8·16] at lane r.
TK_QINLINE void tk_qpanel_decode_k45(int type, const uint8_t *row, size_t b, uint8_t *q, float *scale, float *min, size_t r) {
    const uint8_t *p = row + (type == 12 ? 144 : 176) * b;
    const uint8_t *qs = p + (type == 12 ? 16 : 48);
    __m256i high = type == 13 ? _mm256_loadu_si256((const __m256i *)(p + 16)) : _mm256_setzero_si256();
    for (int k = 0; k < 4; k++) {
        __m256i lo, hi;
        tk_q_k45_pair(type, qs, k, &high, &lo, &hi);
        _mm256_storeu_si256((__m256i *)(q + 64 * k), lo);
        _mm256_storeu_si256((__m256i *)(q + 64 * k + 32), hi);
    }
    uint8_t scales[8], mins[8];
    tk_q_kscales(p + 4, scales, mins);
    const float d = tk_q_half(p), dmin = tk_q_half(p + 2);
    for (int s = 0; s < 8; s++) { scale[16 * s + r] = d * (float)scales[s]; min[16 * s + r] = dmin * (float)mins[s]; }
}

// The same for a Q6_K row block: 256 codes 0…63 and sixteen 16-value sub-block scales (min = 32·scale).
TK_QINLINE void tk_qpanel_decode_q6k(const uint8_t *row, size_t b, uint8_t *q, float *scale, float *min, size_t r) {
    const uint8_t *p = row + 210 * b, *ql = p, *qh = p + 128;
    const int8_t *sc = (const int8_t *)(p + 192);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int h = 0; h < 2; h++) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(ql + 64 * h));
        __m256i c = _mm256_loadu_si256((const __m256i *)(ql + 64 * h + 32));
        __m256i hb = _mm256_loadu_si256((const __m256i *)(qh + 32 * h));
        uint8_t *o = q + 128 * h;
        _mm256_storeu_si256((__m256i *)o, _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x03)), 4)));
        _mm256_storeu_si256((__m256i *)(o + 32), _mm256_or_si256(_mm256_and_si256(c, low4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x0C)), 2)));
        _mm256_storeu_si256((__m256i *)(o + 64), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(hb, _mm256_set1_epi8(0x30))));
        _mm256_storeu_si256((__m256i *)(o + 96), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4),
                                                                 _mm256_srli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8((char)0xC0)), 2)));
    }
    const float d = tk_q_half(p + 208);
    for (int g = 0; g < 16; g++) { scale[16 * g + r] = d * (float)sc[g]; min[16 * g + r] = 32.0f * scale[16 * g + r]; }
}

// Packs weight rows r0 … r0+16 (zeros past `rows`) of a 256-block type (Q4_K, Q5_K, Q6_K) into a
// panel: each row block is decoded to codes in value order, then the 16 rows' codes are
// interleaved four at a time.
TK_QINLINE void tk_qpanel_pack_b256(const tk_qpanel_source *src, int32_t type, size_t rows, size_t r0, size_t k, uint8_t *panel) {
    const size_t sub = tk_qpanel_sub(type), subs = 256 / sub, sub_bytes = tk_qpanel_sub_bytes(sub);
    const __m512i gather = _mm512_setr_epi32(0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960);
    int32_t codes[16 * 64] __attribute__((aligned(64)));
    float scales[16 * 16] __attribute__((aligned(64))), mins[16 * 16] __attribute__((aligned(64)));
    const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
    if (nr < 16) { memset(codes, 0, sizeof codes); memset(scales, 0, sizeof scales); memset(mins, 0, sizeof mins); }
    for (size_t b = 0; b < k / 256; b++) {
        for (size_t r = 0; r < nr; r++) {
            const uint8_t *row = src->w + (r0 + r) * src->row_bytes;
            if (type == 14) tk_qpanel_decode_q6k(row, b, (uint8_t *)(codes + 64 * r), scales, mins, r);
            else tk_qpanel_decode_k45(type, row, b, (uint8_t *)(codes + 64 * r), scales, mins, r);
        }
        for (size_t s = 0; s < subs; s++) {
            uint8_t *block = panel + (b * subs + s) * sub_bytes;
            for (size_t g = 0; g < sub / 4; g++)
                _mm512_storeu_si512((void *)(block + 64 * g), _mm512_i32gather_epi32(gather, codes + s * (sub / 4) + g, 4));
            _mm512_storeu_ps((float *)(block + 16 * sub), _mm512_load_ps(scales + 16 * s));
            _mm512_storeu_ps((float *)(block + 16 * sub + 64), _mm512_load_ps(mins + 16 * s));
        }
    }
}

// y[j·ldy + 0…16) (the lanes in `mask`) = (or, with `add`, +=) the panel's sub-blocks s0 … s1 of
// 16 rows · activation rows j < nx (≤ 8).
TK_QINLINE void tk_qpanel_tile(const uint8_t *panel, size_t s0, size_t s1, const int sub, const int32_t zero, const uint8_t *x,
                               size_t xs, size_t k, const int nx, __mmask16 mask, int add, float *y, size_t ldy) {
    __m512 acc[8];
    for (int j = 0; j < nx; j++) acc[j] = add ? _mm512_maskz_loadu_ps(mask, y + j * ldy) : _mm512_setzero_ps();
    const size_t sub_bytes = tk_qpanel_sub_bytes((size_t)sub);
    const size_t sums_at = sub == 32 ? tk_qpanel_x_sums32(k) : tk_qpanel_x_sums16(k);
    for (size_t s = s0; s < s1; s++) {
        const uint8_t *block = panel + s * sub_bytes;
        __m512i wq[8];
        for (int g = 0; g < sub / 4; g++) wq[g] = _mm512_load_si512((const void *)(block + 64 * g));
        const __m512 scale = _mm512_load_ps((const float *)(block + 16 * sub));
        const __m512 min = _mm512_load_ps((const float *)(block + 16 * sub + 64));
        for (int j = 0; j < nx; j++) {
            const uint8_t *xr = x + j * xs;
            int32_t code_sum;
            memcpy(&code_sum, xr + sums_at + 4 * s, 4);
            __m512i dot = zero ? _mm512_set1_epi32(-zero * code_sum) : _mm512_setzero_si512();
            for (int g = 0; g < sub / 4; g++) {
                int32_t four;
                memcpy(&four, xr + s * sub + 4 * g, 4);
                dot = _mm512_dpbusd_epi32(dot, wq[g], _mm512_set1_epi32(four));
            }
            float d;
            memcpy(&d, xr + tk_qpanel_x_scales(k) + 4 * (s * sub / 32), 4);
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(scale, _mm512_set1_ps(d)), acc[j]);
            if (!zero) {
                float scaled_sum;
                memcpy(&scaled_sum, xr + tk_qpanel_x_scaled_sums(k) + 4 * s, 4);
                acc[j] = _mm512_fnmadd_ps(min, _mm512_set1_ps(scaled_sum), acc[j]);
            }
        }
    }
    for (int j = 0; j < nx; j++) _mm512_mask_storeu_ps(y + j * ldy, mask, acc[j]);
}

// Activation rows 0 … m times one packed panel, eight rows at a time, in column chunks of 1024
// values (the panel's part stays in L1 while the rows stream past); the first chunk writes y
// (adds to it with `accumulate`), the others add to it.
TK_QINLINE void tk_qpanel_rows(const uint8_t *panel, size_t nsub, const int sub, const int32_t zero, const uint8_t *xq,
                               size_t xs, size_t m, size_t k, __mmask16 mask, int accumulate, float *y, size_t ldy) {
    const size_t step = 1024 / (size_t)sub;
    for (size_t s0 = 0; s0 < nsub; s0 += step) {
        const size_t s1 = s0 + step < nsub ? s0 + step : nsub;
        const int add = accumulate || s0 > 0;
        size_t i = 0;
        for (; i + 8 <= m; i += 8) tk_qpanel_tile(panel, s0, s1, sub, zero, xq + i * xs, xs, k, 8, mask, add, y + i * ldy, ldy);
        const uint8_t *x = xq + i * xs;
        float *out = y + i * ldy;
        switch (m - i) {
        case 1: tk_qpanel_tile(panel, s0, s1, sub, zero, x, xs, k, 1, mask, add, out, ldy); break;
        case 2: tk_qpanel_tile(panel, s0, s1, sub, zero, x, xs, k, 2, mask, add, out, ldy); break;
        case 3: tk_qpanel_tile(panel, s0, s1, sub, zero, x, xs, k, 3, mask, add, out, ldy); break;
        case 4: tk_qpanel_tile(panel, s0, s1, sub, zero, x, xs, k, 4, mask, add, out, ldy); break;
        case 5: tk_qpanel_tile(panel, s0, s1, sub, zero, x, xs, k, 5, mask, add, out, ldy); break;
        case 6: tk_qpanel_tile(panel, s0, s1, sub, zero, x, xs, k, 6, mask, add, out, ldy); break;
        case 7: tk_qpanel_tile(panel, s0, s1, sub, zero, x, xs, k, 7, mask, add, out, ldy); break;
        default: break;
        }
    }
}

// Packs the panel of rows r0 … r0+16 into `panel`.
TK_QINLINE void tk_qpanel_pack(const tk_qpanel_source *src, size_t rows, size_t r0, size_t k, uint8_t *panel) {
    switch (src->type) {
    case 2: tk_qpanel_pack_b32(src, 2, rows, r0, k, panel); break;
    case 6: tk_qpanel_pack_b32(src, 6, rows, r0, k, panel); break;
    case 8: tk_qpanel_pack_b32(src, 8, rows, r0, k, panel); break;
    case TK_QPANEL_FOURBIT: tk_qpanel_pack_b32(src, TK_QPANEL_FOURBIT, rows, r0, k, panel); break;
    case TK_QPANEL_INT8: tk_qpanel_pack_b32(src, TK_QPANEL_INT8, rows, r0, k, panel); break;
    case TK_QPANEL_F32T: tk_qpanel_pack_f32t(src, rows, r0, k, panel); break;
    case 12: tk_qpanel_pack_b256(src, 12, rows, r0, k, panel); break;
    case 13: tk_qpanel_pack_b256(src, 13, rows, r0, k, panel); break;
    default: tk_qpanel_pack_b256(src, 14, rows, r0, k, panel); break;
    }
}

// Up to TK_QPANEL_GROUP panels (64 weight rows) are packed at a time; activation rows are then
// taken in chunks of about 768 KB, each chunk meeting every panel of the group while it is in L2.
void tk_qpanel_run_vnni(const tk_qpanel_source *src, size_t rows, const void *xq, size_t x_row_bytes, size_t m,
                        size_t k, float *y, size_t ldy, void *scratch) {
    const size_t sub = tk_qpanel_sub(src->type), nsub = k / sub, panel_bytes = nsub * tk_qpanel_sub_bytes(sub);
    const int32_t zero = tk_qpanel_zero(src->type);
    const uint8_t *xb = (const uint8_t *)xq;
    size_t chunk = (786432 / x_row_bytes) & ~(size_t)7;
    if (chunk < 8) chunk = 8;
    for (size_t g0 = 0; g0 < rows; g0 += 16 * TK_QPANEL_GROUP) {
        const size_t g1 = g0 + 16 * TK_QPANEL_GROUP < rows ? g0 + 16 * TK_QPANEL_GROUP : rows;
        for (size_t r0 = g0; r0 < g1; r0 += 16) tk_qpanel_pack(src, rows, r0, k, (uint8_t *)scratch + (r0 - g0) / 16 * panel_bytes);
        for (size_t i0 = 0; i0 < m; i0 += chunk) {
            const size_t mi = m - i0 < chunk ? m - i0 : chunk;
            for (size_t r0 = g0; r0 < g1; r0 += 16) {
                const uint8_t *panel = (const uint8_t *)scratch + (r0 - g0) / 16 * panel_bytes;
                const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
                const __mmask16 mask = (__mmask16)((1u << nr) - 1);
                const uint8_t *x = xb + i0 * x_row_bytes;
                float *out = y + i0 * ldy + r0;
                if (zero == 0) tk_qpanel_rows(panel, nsub, 32, 0, x, x_row_bytes, mi, k, mask, src->accumulate, out, ldy);
                else if (sub == 16) tk_qpanel_rows(panel, nsub, 16, 32, x, x_row_bytes, mi, k, mask, src->accumulate, out, ldy);
                else if (zero == 8) tk_qpanel_rows(panel, nsub, 32, 8, x, x_row_bytes, mi, k, mask, src->accumulate, out, ldy);
                else if (zero == 16) tk_qpanel_rows(panel, nsub, 32, 16, x, x_row_bytes, mi, k, mask, src->accumulate, out, ldy);
                else tk_qpanel_rows(panel, nsub, 32, 128, x, x_row_bytes, mi, k, mask, src->accumulate, out, ldy);
            }
        }
    }
}
