// Panel products of GGML weight blocks with many 8-bit activation rows: the activation quantizer,
// the sub-block decoder both builds share, the portable build, and the run-time choice of the
// AVX-512 VNNI build (kernels_vnni.c).
#include <math.h>
#include "half_float.h"
#include "qpanel_layout.h"

void tk_qpanel_quantize_vnni(const float *x, void *out, size_t k);

size_t tk_qpanel_x_row_bytes(size_t k) { return k + 5 * k / 8; }

size_t tk_qpanel_scratch_bytes(int32_t type, size_t k) {
    size_t sub = tk_qpanel_sub(type);
    if (sub == 0 || k % tk_qpanel_block_values(type) != 0) return 0;
    return TK_QPANEL_GROUP * (k / sub) * tk_qpanel_sub_bytes(sub);
}

static void tk_qpanel_quantize_portable(const float *x, void *out, size_t k) {
    uint8_t *o = (uint8_t *)out;
    int8_t *codes = (int8_t *)o;
    float *scales = (float *)(o + tk_qpanel_x_scales(k)), *scaled = (float *)(o + tk_qpanel_x_scaled_sums(k));
    int32_t *sums32 = (int32_t *)(o + tk_qpanel_x_sums32(k)), *sums16 = (int32_t *)(o + tk_qpanel_x_sums16(k));
    for (size_t b = 0; b < k / 32; b++) {
        const float *v = x + 32 * b;
        float amax = 0, probe = 0;  // probe: NaN when a value is not finite
        for (int i = 0; i < 32; i++) { amax = fmaxf(amax, fabsf(v[i])); probe += v[i] * 0.0f; }
        if (probe != 0.0f) amax = NAN;
        float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        int32_t half[2] = { 0, 0 };
        for (int i = 0; i < 32; i++) {
            float r = fminf(fmaxf(__builtin_rintf(v[i] * inverse), -127.0f), 127.0f);
            codes[32 * b + i] = (int8_t)(int32_t)r;
            half[i / 16] += codes[32 * b + i];
        }
        scales[b] = amax / 127.0f;
        scaled[b] = scales[b] * (float)(half[0] + half[1]);
        sums32[b] = half[0] + half[1];
        sums16[2 * b] = half[0];
        sums16[2 * b + 1] = half[1];
    }
}

void tk_qpanel_quantize(const float *x, void *out, size_t k) {
#if defined(__x86_64__)
    if (tk_uses_vnni()) { tk_qpanel_quantize_vnni(x, out, k); return; }
#endif
    tk_qpanel_quantize_portable(x, out, k);
}

void tk_qpanel_decode_sub(const tk_qpanel_source *src, size_t k, size_t r, size_t s, uint8_t *q, float *scale, float *min) {
    const int32_t type = src->type;
    const uint8_t *row = src->w ? src->w + r * src->row_bytes : NULL;
    switch (type) {
    case TK_QPANEL_FOURBIT: {  // two codes a byte, the even element in the high nibble
        const uint8_t *p = row + 16 * s;
        for (int j = 0; j < 16; j++) { q[2 * j] = src->table127[p[j] >> 4]; q[2 * j + 1] = src->table127[p[j] & 0x0F]; }
        *scale = src->absmax[(r * k + 32 * s) / src->block_size] * (1.0f / 127.0f);
        break;
    }
    case TK_QPANEL_F32T: {  // column r of the Float32 matrix, rows 32s … 32s+32, rounded to 8 bits
        const float *column = src->f32 + 32 * s * src->ld + r;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(column[i * src->ld]));
        const float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        for (int i = 0; i < 32; i++) {
            float v = fminf(fmaxf(__builtin_rintf(column[i * src->ld] * inverse), -127.0f), 127.0f);
            q[i] = (uint8_t)((int)v + 128);
        }
        *scale = amax / 127.0f;
        break;
    }
    case TK_QPANEL_INT8: {  // codes shifted to 0…255, W = code·scale/127
        const uint8_t *p = row + 32 * s;
        for (int i = 0; i < 32; i++) q[i] = (uint8_t)(p[i] ^ 0x80);
        *scale = src->scales[r] * (1.0f / 127.0f);
        break;
    }
    case 8: {  // Q8_0: d, 32 int8; codes shifted to 0…255
        const uint8_t *p = row + 34 * s;
        for (int i = 0; i < 32; i++) q[i] = (uint8_t)(p[2 + i] ^ 0x80);
        *scale = tk_half_to_float(p);
        break;
    }
    case 2: {  // Q4_0: d, 16 bytes (value j low nibble of byte j, value j+16 the high one)
        const uint8_t *p = row + 18 * s;
        for (int j = 0; j < 16; j++) { q[j] = p[2 + j] & 0x0F; q[j + 16] = p[2 + j] >> 4; }
        *scale = tk_half_to_float(p);
        break;
    }
    case 6: {  // Q5_0: d, 32 fifth bits, 16 bytes of nibbles
        const uint8_t *p = row + 22 * s;
        uint32_t bits = (uint32_t)p[2] | ((uint32_t)p[3] << 8) | ((uint32_t)p[4] << 16) | ((uint32_t)p[5] << 24);
        for (int j = 0; j < 16; j++) {
            q[j] = (uint8_t)((p[6 + j] & 0x0F) | (((bits >> j) & 1) << 4));
            q[j + 16] = (uint8_t)((p[6 + j] >> 4) | (((bits >> (j + 16)) & 1) << 4));
        }
        *scale = tk_half_to_float(p);
        break;
    }
    case 12: case 13: {  // Q4_K / Q5_K: sub-block s % 8 of block s / 8
        const uint8_t *p = row + (type == 12 ? 144 : 176) * (s / 8), *sc = p + 4;
        const size_t t = s % 8, pair = t / 2;
        const uint8_t *qs = p + (type == 12 ? 16 : 48) + 32 * pair, *qh = p + 16;
        uint8_t sub_scale, sub_min;
        if (t < 4) { sub_scale = sc[t] & 0x3F; sub_min = sc[t + 4] & 0x3F; }
        else {
            sub_scale = (uint8_t)((sc[t + 4] & 0x0F) | ((sc[t - 4] >> 6) << 4));
            sub_min = (uint8_t)((sc[t + 4] >> 4) | ((sc[t] >> 6) << 4));
        }
        for (int l = 0; l < 32; l++) {
            uint8_t v = t % 2 == 0 ? qs[l] & 0x0F : qs[l] >> 4;
            if (type == 13) v |= ((qh[l] >> t) & 1) << 4;
            q[l] = v;
        }
        *scale = tk_half_to_float(p) * (float)sub_scale;
        *min = tk_half_to_float(p + 2) * (float)sub_min;
        return;
    }
    default: {  // Q6_K: 16-value sub-block s % 16 of block s / 16
        const uint8_t *p = row + 210 * (s / 16);
        const size_t g = s % 16, h = g / 8, quarter = (g % 8) / 2, l0 = 16 * (g % 2);
        const uint8_t *ql = p + 64 * h + (quarter % 2 ? 32 : 0), *qh = p + 128 + 32 * h;
        for (size_t l = l0; l < l0 + 16; l++) {
            uint8_t low = quarter < 2 ? ql[l] & 0x0F : ql[l] >> 4;
            q[l - l0] = (uint8_t)(low | (((qh[l] >> (2 * quarter)) & 3) << 4));
        }
        *scale = tk_half_to_float(p + 208) * (float)(int8_t)p[192 + g];
        break;
    }
    }
    *min = *scale * (float)tk_qpanel_zero(type);
}

// Decodes weight rows r0 … r0+16 (those below `rows`; the others are zero) into a panel.
static void tk_qpanel_pack_portable(const tk_qpanel_source *src, size_t rows, size_t r0, size_t k, uint8_t *panel) {
    const size_t sub = tk_qpanel_sub(src->type), sub_bytes = tk_qpanel_sub_bytes(sub);
    memset(panel, 0, k / sub * sub_bytes);
    uint8_t q[32];
    for (size_t r = 0; r < 16 && r0 + r < rows; r++) {
        for (size_t s = 0; s < k / sub; s++) {
            uint8_t *block = panel + s * sub_bytes;
            float scale, min;
            tk_qpanel_decode_sub(src, k, r0 + r, s, q, &scale, &min);
            for (size_t c = 0; c < sub; c++) block[64 * (c / 4) + 4 * r + c % 4] = q[c];
            memcpy(block + 16 * sub + 4 * r, &scale, 4);
            memcpy(block + 16 * sub + 64 + 4 * r, &min, 4);
        }
    }
}

void tk_qpanel_run_portable(const tk_qpanel_source *src, size_t rows, const void *xq, size_t x_row_bytes, size_t m,
                            size_t k, float *y, size_t ldy, void *scratch) {
    const size_t sub = tk_qpanel_sub(src->type), sub_bytes = tk_qpanel_sub_bytes(sub), nsub = k / sub;
    const int32_t zero = tk_qpanel_zero(src->type);
    uint8_t *panel = (uint8_t *)scratch;
    for (size_t r0 = 0; r0 < rows; r0 += 16) {
        tk_qpanel_pack_portable(src, rows, r0, k, panel);
        const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
        for (size_t i = 0; i < m; i++) {
            const uint8_t *x = (const uint8_t *)xq + i * x_row_bytes;
            const int8_t *codes = (const int8_t *)x;
            const float *xd = (const float *)(x + tk_qpanel_x_scales(k)), *xs = (const float *)(x + tk_qpanel_x_scaled_sums(k));
            const int32_t *sums = (const int32_t *)(x + (sub == 32 ? tk_qpanel_x_sums32(k) : tk_qpanel_x_sums16(k)));
            for (size_t r = 0; r < nr; r++) {
                float acc = 0;
                for (size_t s = 0; s < nsub; s++) {
                    const uint8_t *block = panel + s * sub_bytes;
                    int32_t dot = zero ? -zero * sums[s] : 0;
                    for (size_t c = 0; c < sub; c++) dot += block[64 * (c / 4) + 4 * r + c % 4] * codes[s * sub + c];
                    float scale, min;
                    memcpy(&scale, block + 16 * sub + 4 * r, 4);
                    memcpy(&min, block + 16 * sub + 64 + 4 * r, 4);
                    acc += scale * xd[s * sub / 32] * (float)dot;
                    if (!zero) acc -= min * xs[s];
                }
                y[i * ldy + r0 + r] = src->accumulate ? y[i * ldy + r0 + r] + acc : acc;
            }
        }
    }
}

// Runs the product in the build the CPU takes; NaN everywhere when the source is not one the
// panel products take.
static void tk_qpanel_run(const tk_qpanel_source *src, size_t rows, const void *xq, size_t x_row_bytes, size_t m,
                          size_t k, float *y, size_t ldy, void *scratch) {
    if (tk_qpanel_scratch_bytes(src->type, k) == 0) {
        for (size_t i = 0; i < m; i++) for (size_t r = 0; r < rows; r++) y[i * ldy + r] = NAN;
        return;
    }
#if defined(__x86_64__)
    if (tk_uses_vnni()) { tk_qpanel_run_vnni(src, rows, xq, x_row_bytes, m, k, y, ldy, scratch); return; }
#endif
    tk_qpanel_run_portable(src, rows, xq, x_row_bytes, m, k, y, ldy, scratch);
}

void tk_qpanel_matmul(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                      size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy, void *scratch) {
    tk_qpanel_source src = { .type = type, .w = (const uint8_t *)w, .row_bytes = w_row_bytes };
    if (type == TK_QPANEL_FOURBIT || type == TK_QPANEL_INT8 || type == TK_QPANEL_F32T) src.type = -1;  // not GGML ids
    tk_qpanel_run(&src, rows, xq, x_row_bytes, m, k, y, ldy, scratch);
}

void tk_qpanel_matmul_fourbit(const uint8_t *codes, const float *absmax, const float *table, size_t block_size,
                              size_t rows, size_t k, const void *xq, size_t x_row_bytes, size_t m, float *y, size_t ldy,
                              void *scratch) {
    tk_qpanel_source src = { .type = TK_QPANEL_FOURBIT, .w = codes, .row_bytes = k / 2, .absmax = absmax, .block_size = block_size };
    if (block_size == 0 || k % block_size != 0) src.type = -1;
    for (int c = 0; c < 16; c++) src.table127[c] = (uint8_t)((int)fminf(fmaxf(__builtin_rintf(127.0f * table[c]), -127.0f), 127.0f) + 128);
    tk_qpanel_run(&src, rows, xq, x_row_bytes, m, k, y, ldy, scratch);
}

void tk_qpanel_matmul_int8(const int8_t *codes, const float *scales, size_t rows, size_t k, const void *xq,
                           size_t x_row_bytes, size_t m, float *y, size_t ldy, void *scratch) {
    tk_qpanel_source src = { .type = TK_QPANEL_INT8, .w = (const uint8_t *)codes, .row_bytes = k, .scales = scales };
    tk_qpanel_run(&src, rows, xq, x_row_bytes, m, k, y, ldy, scratch);
}

void tk_qpanel_matmul_f32t(const float *w, size_t ldw, size_t k, size_t columns, const void *xq, size_t x_row_bytes,
                           size_t m, float *y, size_t ldy, int accumulate, void *scratch) {
    tk_qpanel_source src = { .type = TK_QPANEL_F32T, .f32 = w, .ld = ldw, .accumulate = accumulate };
    tk_qpanel_run(&src, columns, xq, x_row_bytes, m, k, y, ldy, scratch);
}
