// The AVX-512 VNNI build of the panel products (see CKernels.h), included by kernels_vnni.c after
// quant_kernels_body.h (whose AVX2 block decoders it reuses) with the VNNI target switched on.
//
// A panel sub-block holds, for each group of four columns, 16 rows × 4 unsigned codes: one zmm.
// One `vpdpbusd` multiplies it with four activation codes broadcast to every lane, adding four
// products to each of the 16 rows' sums. A sub-block's integer sums (exact) are then scaled by
// the rows' scales times the activation block's d; zero points come off the integer sums
// (−zero·Σcodes), Float32 minimums off the scaled sums (min·d·Σcodes).
#include "qpanel_layout.h"

// Packs weight rows r0 … r0+16 (zeros past `rows`) of a 32-block type into a panel.
TK_QINLINE void tk_qpanel_pack_b32(int32_t type, const uint8_t *w, size_t w_row_bytes, size_t rows, size_t r0,
                                   size_t nsub, uint8_t *panel) {
    const __m512i gather = _mm512_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120);
    const __m512 zero_point = _mm512_set1_ps((float)tk_qpanel_zero(type));
    int32_t codes[16 * 8] __attribute__((aligned(64)));
    float scales[16] __attribute__((aligned(64)));
    const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
    if (nr < 16) { memset(codes, 0, sizeof codes); memset(scales, 0, sizeof scales); }
    for (size_t s = 0; s < nsub; s++) {
        uint8_t *block = panel + s * tk_qpanel_sub_bytes(32);
        for (size_t r = 0; r < nr; r++) {
            __m256i q = tk_q_block32(type, w + (r0 + r) * w_row_bytes, s, &scales[r]);
            if (type == 8) q = _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80));
            _mm256_store_si256((__m256i *)(codes + 8 * r), q);
        }
        for (int g = 0; g < 8; g++)
            _mm512_storeu_si512((void *)(block + 64 * g), _mm512_i32gather_epi32(gather, codes + g, 4));
        __m512 scale = _mm512_load_ps(scales);
        _mm512_storeu_ps((float *)(block + 512), scale);
        _mm512_storeu_ps((float *)(block + 576), _mm512_mul_ps(scale, zero_point));
    }
}

// Packs rows r0 … r0+16 of any taken type through the shared scalar sub-block decoder.
static void tk_qpanel_pack_decoded(int32_t type, const uint8_t *w, size_t w_row_bytes, size_t rows, size_t r0,
                                   size_t nsub, uint8_t *panel) {
    const size_t sub = tk_qpanel_sub(type), sub_bytes = tk_qpanel_sub_bytes(sub);
    const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
    memset(panel, 0, nsub * sub_bytes);
    uint8_t q[32];
    for (size_t r = 0; r < nr; r++) {
        const uint8_t *row = w + (r0 + r) * w_row_bytes;
        for (size_t s = 0; s < nsub; s++) {
            uint8_t *block = panel + s * sub_bytes;
            float scale, min;
            tk_qpanel_decode_sub(type, row, s, q, &scale, &min);
            for (size_t g = 0; g < sub / 4; g++) memcpy(block + 64 * g + 4 * r, q + 4 * g, 4);
            memcpy(block + 16 * sub + 4 * r, &scale, 4);
            memcpy(block + 16 * sub + 64 + 4 * r, &min, 4);
        }
    }
}

// y[j·ldy + 0…16) (the lanes in `mask`) = the panel's 16 rows · activation rows j < nx (≤ 8).
TK_QINLINE void tk_qpanel_tile(const uint8_t *panel, size_t nsub, const int sub, const int32_t zero, const uint8_t *x,
                               size_t xs, size_t k, const int nx, __mmask16 mask, float *y, size_t ldy) {
    __m512 acc[8];
    for (int j = 0; j < nx; j++) acc[j] = _mm512_setzero_ps();
    const size_t sub_bytes = tk_qpanel_sub_bytes((size_t)sub);
    const size_t sums_at = sub == 32 ? tk_qpanel_x_sums32(k) : tk_qpanel_x_sums16(k);
    for (size_t s = 0; s < nsub; s++) {
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

// All activation rows times one packed panel, eight rows at a time.
TK_QINLINE void tk_qpanel_rows(const uint8_t *panel, size_t nsub, const int sub, const int32_t zero, const uint8_t *xq,
                               size_t xs, size_t m, size_t k, __mmask16 mask, float *y, size_t ldy) {
    size_t i = 0;
    for (; i + 8 <= m; i += 8) tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 8, mask, y + i * ldy, ldy);
    switch (m - i) {
    case 1: tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 1, mask, y + i * ldy, ldy); break;
    case 2: tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 2, mask, y + i * ldy, ldy); break;
    case 3: tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 3, mask, y + i * ldy, ldy); break;
    case 4: tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 4, mask, y + i * ldy, ldy); break;
    case 5: tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 5, mask, y + i * ldy, ldy); break;
    case 6: tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 6, mask, y + i * ldy, ldy); break;
    case 7: tk_qpanel_tile(panel, nsub, sub, zero, xq + i * xs, xs, k, 7, mask, y + i * ldy, ldy); break;
    default: break;
    }
}

void tk_qpanel_matmul_vnni(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                           size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy, void *scratch) {
    const size_t sub = tk_qpanel_sub(type), nsub = k / sub;
    const uint8_t *wb = (const uint8_t *)w, *xb = (const uint8_t *)xq;
    uint8_t *panel = (uint8_t *)scratch;
    for (size_t r0 = 0; r0 < rows; r0 += 16) {
        const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
        const __mmask16 mask = (__mmask16)((1u << nr) - 1);
        switch (type) {
        case 2: tk_qpanel_pack_b32(2, wb, w_row_bytes, rows, r0, nsub, panel);
                tk_qpanel_rows(panel, nsub, 32, 8, xb, x_row_bytes, m, k, mask, y + r0, ldy); break;
        case 6: tk_qpanel_pack_b32(6, wb, w_row_bytes, rows, r0, nsub, panel);
                tk_qpanel_rows(panel, nsub, 32, 16, xb, x_row_bytes, m, k, mask, y + r0, ldy); break;
        case 8: tk_qpanel_pack_b32(8, wb, w_row_bytes, rows, r0, nsub, panel);
                tk_qpanel_rows(panel, nsub, 32, 128, xb, x_row_bytes, m, k, mask, y + r0, ldy); break;
        case 14: tk_qpanel_pack_decoded(14, wb, w_row_bytes, rows, r0, nsub, panel);
                 tk_qpanel_rows(panel, nsub, 16, 32, xb, x_row_bytes, m, k, mask, y + r0, ldy); break;
        default: tk_qpanel_pack_decoded(type, wb, w_row_bytes, rows, r0, nsub, panel);
                 tk_qpanel_rows(panel, nsub, 32, 0, xb, x_row_bytes, m, k, mask, y + r0, ldy); break;
        }
    }
}
