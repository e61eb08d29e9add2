// The layouts shared by the panel products' builds (qpanel.c, portable; qpanel_vnni_body.h, AVX-512
// VNNI): the weight formats they take, how a weight sub-block decodes to unsigned codes, and the
// offsets inside an activation row. Private to CKernels.
#ifndef TAILOR_QPANEL_LAYOUT_H
#define TAILOR_QPANEL_LAYOUT_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "CKernels.h"

// Weight formats besides the GGML type ids: bitsandbytes 4-bit (NF4/FP4), LLM.int8, and a
// Float32 matrix read transposed (rounded to 8 bits per 32 of its rows as it is packed).
enum { TK_QPANEL_FOURBIT = 1000, TK_QPANEL_INT8 = 1001, TK_QPANEL_F32T = 1002 };

// A weight matrix the panel products read: GGML blocks (`type` a GGML id, `w` rows `row_bytes`
// apart); bitsandbytes 4-bit codes (two a byte, even element high, `w` row-major) with one absmax
// per `block_size` elements and the 16-value `table`, each value rounded to 127ths (`table127`,
// so a weight becomes code·absmax/127); LLM.int8 codes (`w` row-major) with per-row `scales`; or
// the transpose of a Float32 matrix `f32` (its rows `ld` floats apart are the panel's columns).
// With `accumulate` the product is added to y.
typedef struct {
    int32_t type;
    const uint8_t *w;
    size_t row_bytes;
    const float *absmax;
    uint8_t table127[16];  // round(127·table) + 128
    size_t block_size;
    const float *scales;
    const float *f32;
    size_t ld;
    int accumulate;
} tk_qpanel_source;

// Values per sub-block of `type` (one scale each), 0 for a type the panel products do not take.
static inline size_t tk_qpanel_sub(int32_t type) {
    switch (type) {
    case 2: case 6: case 8: case 12: case 13: case TK_QPANEL_FOURBIT: case TK_QPANEL_INT8: case TK_QPANEL_F32T: return 32;
    case 14: return 16;
    default: return 0;
    }
}

// Zero point subtracted from every code of `type` (w = scale·(q − zero)), or 0 for the types whose
// blocks carry a Float32 minimum instead (Q4_K, Q5_K: w = scale·q − min).
static inline int32_t tk_qpanel_zero(int32_t type) {
    switch (type) {
    case 2: return 8;
    case 6: return 16;
    case 8: case TK_QPANEL_FOURBIT: case TK_QPANEL_INT8: case TK_QPANEL_F32T: return 128;
    case 14: return 32;
    default: return 0;
    }
}

// Bytes of a GGML block of `type` and the values it holds.
static inline size_t tk_qpanel_block_bytes(int32_t type) {
    switch (type) {
    case 2: return 18;
    case 6: return 22;
    case 8: return 34;
    case 12: return 144;
    case 13: return 176;
    default: return 210;
    }
}
static inline size_t tk_qpanel_block_values(int32_t type) { return type == 12 || type == 13 || type == 14 ? 256 : 32; }

// Panels (of 16 weight rows) packed at a time: the scratch holds this many.
enum { TK_QPANEL_GROUP = 4 };

// Bytes of one panel sub-block: codes of 16 rows (sub/4 groups of 16 rows × 4 bytes), then 16
// Float32 scales and 16 Float32 minimums.
static inline size_t tk_qpanel_sub_bytes(size_t sub) { return 16 * sub + 128; }

// Offsets inside an activation row of k values (see CKernels.h): codes, then per 32 values the
// scale d and d·Σcodes, then per 32 and per 16 values the code sums.
static inline size_t tk_qpanel_x_scales(size_t k) { return k; }
static inline size_t tk_qpanel_x_scaled_sums(size_t k) { return k + k / 8; }
static inline size_t tk_qpanel_x_sums32(size_t k) { return k + k / 4; }
static inline size_t tk_qpanel_x_sums16(size_t k) { return k + 3 * k / 8; }

// Decodes sub-block `s` of weight row `r` into unsigned codes q[0..sub) with W = scale·q − min,
// where min = scale·zero for the zero-point types.
void tk_qpanel_decode_sub(const tk_qpanel_source *src, size_t k, size_t r, size_t s, uint8_t *q, float *scale, float *min);

// Runs the panel product of `rows` rows of src (k columns) with m activation rows, in each build.
void tk_qpanel_run_portable(const tk_qpanel_source *src, size_t rows, const void *xq, size_t x_row_bytes, size_t m,
                            size_t k, float *y, size_t ldy, void *scratch);
void tk_qpanel_run_vnni(const tk_qpanel_source *src, size_t rows, const void *xq, size_t x_row_bytes, size_t m,
                        size_t k, float *y, size_t ldy, void *scratch);

#endif
