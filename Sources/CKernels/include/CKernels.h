// Hot kernels that BLAS does not cover. Each is compiled twice — for AVX2+FMA and portable —
// and the public entry point picks the AVX2 build when the CPU supports it (see dispatch.c).
#ifndef TAILOR_CKERNELS_H
#define TAILOR_CKERNELS_H
#include <stdint.h>
#include <stddef.h>

/// 1 when the AVX2+FMA builds are in use, 0 for the portable ones.
int tk_uses_avx2(void);
/// Forces the portable builds (1) or restores automatic choice (0); for tests and benchmarks.
void tk_force_portable(int portable);
/// Makes glibc's malloc serve blocks of up to `largest_heap_block` bytes from the heap and never trim
/// it, so freed memory is reused instead of returned to the system; 1 when glibc took both settings,
/// 0 otherwise (or with another C library).
int tk_retain_freed_memory(size_t largest_heap_block);

/// Whether tk_qmatmul uses its AVX-512 VNNI build (the CPU has AVX-512 VNNI, VL and BW, the AVX2
/// builds are in use, and tk_disable_vnni has not turned it off): 1 or 0.
int tk_uses_vnni(void);
/// Turns tk_qmatmul's VNNI build off (1) or back to automatic choice (0); for tests and benchmarks.
void tk_disable_vnni(int disabled);
/// CPUs the calling process may run on (its affinity mask on Linux, else the online CPUs); at least 1.
int tk_available_cpus(void);
/// A hint to the CPU that the caller is spinning on a memory location (x86 `pause`).
static inline void tk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// y[i] = exp(x[i]) (relative error ~1e-7)
void tk_exp(const float *x, float *y, size_t n);
// Row-wise softmax of a rows x cols matrix (in may equal out).
void tk_softmax_rows(const float *in, float *out, size_t rows, size_t cols);
// Row-wise log-sum-exp.
void tk_logsumexp_rows(const float *in, float *lse, size_t rows, size_t cols);
// Softmax of one row; returns its log-sum-exp (in may equal out).
float tk_softmax_lse(const float *in, float *out, size_t n);
// y[i] = exp(x[i] - shift)
void tk_exp_shifted(const float *x, float *y, size_t n, float shift);
// Sum and sum of squares.
float tk_sum(const float *x, size_t n);
float tk_sum_squares(const float *x, size_t n);
// Dot product.
float tk_dot(const float *a, const float *b, size_t n);

// Activations and their derivatives; dx = dy * f'(x).
void tk_silu(const float *x, float *y, size_t n);
void tk_silu_backward(const float *x, const float *dy, float *dx, size_t n);
void tk_gelu_tanh(const float *x, float *y, size_t n);
void tk_gelu_tanh_backward(const float *x, const float *dy, float *dx, size_t n);
void tk_gelu_erf(const float *x, float *y, size_t n);
void tk_gelu_erf_backward(const float *x, const float *dy, float *dx, size_t n);
void tk_tanh(const float *x, float *y, size_t n);
// SwiGLU: y = silu(gate) * up, and its backward.
void tk_swiglu(const float *gate, const float *up, float *y, size_t n);
void tk_swiglu_backward(const float *gate, const float *up, const float *dy, float *dgate, float *dup, size_t n);

// RMSNorm over the last axis: y = x * rstd * w; rstd[r] saved for the backward (may be NULL).
void tk_rmsnorm(const float *x, const float *w, float *y, float *rstd, size_t rows, size_t cols, float eps);
// dx, and dw accumulated (+=) when dw is not NULL.
void tk_rmsnorm_backward(const float *x, const float *w, const float *rstd, const float *dy,
                         float *dx, float *dw, size_t rows, size_t cols);
// LayerNorm over the last axis; mean and rstd saved per row (may be NULL). w, b may be NULL.
void tk_layernorm(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                  size_t rows, size_t cols, float eps);
// dx (may be NULL), dw and db accumulated (+=) when not NULL.
void tk_layernorm_backward(const float *x, const float *w, const float *mean, const float *rstd,
                           const float *dy, float *dx, float *dw, float *db, size_t rows, size_t cols);

// Rotary embedding on x[rows][heads][dim], row r at position pos[r]; cos/sin tables [*, dim/2].
// neox: pairs (i, i+dim/2), else interleaved pairs (2i, 2i+1). inverse rotates by -angle (backward).
void tk_rope(const float *x, float *y, size_t rows, size_t heads, size_t dim, const int32_t *pos,
             const float *cos_table, const float *sin_table, int neox, int inverse);

// Cross-entropy pieces: grad[r][c] = (softmax(x_r)[c] - [c == target_r]) * scale_r, given lse.
void tk_cross_entropy_backward(const float *logits, const float *lse, const int32_t *targets,
                               const float *scale, float *grad, size_t rows, size_t cols);

// AdamW step, PyTorch's formulation: p *= 1 - lr*wd; m,v updated; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps).
void tk_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
              float eps, float weight_decay, float bias_correction1, float bias_correction2);

// 8-bit AdamW (bitsandbytes' blockwise update) on blocks [b0, b1); see tk_adamw8bit_settings.
typedef struct {
    float beta1, beta2, one_minus_beta1, one_minus_beta2;  // decays and 1 − decays, as Float32
    float decay;            // 1 − lr·weight_decay, applied when `decays` is nonzero
    int decays;
    float step_size;        // −lr / (1 − beta1^t)
    float correction2;      // √(1 − beta2^t)
    float eps;
    float gradient_scale;   // every gradient is multiplied by this first
} tk_adamw8bit_settings;
void tk_adamw8bit_blocks(float *w, const float *g, uint8_t *c1, float *a1, uint8_t *c2, float *a2,
                         const float *code1, const float *code2, const uint8_t *table1, const uint8_t *table2,
                         size_t n, size_t block, size_t b0, size_t b1, const tk_adamw8bit_settings *s);

// Quantized products. Activations are quantized per block to 8 bits — 32-value blocks
// {float d; int8 qs[32]; float s} (s = d·Σqs) for Q8_0/Q4_0/Q5_0 weights, 256-value blocks {float d; int8 qs[256];
// int16 bsums[16]} (bsums: sums of 16 consecutive qs) for Q4_K/Q5_K/Q6_K — with d = absmax/127
// and qs = round-to-even(x·127/absmax); a block holding inf or NaN gets d = NaN.
enum { TK_Q8_32_BLOCK_BYTES = 40, TK_Q8_256_BLOCK_BYTES = 292 };
// n values (a multiple of 32 / 256) of x into n/32 / n/256 activation blocks at out.
void tk_quantize_q8_32(const float *x, void *out, size_t n);
void tk_quantize_q8_256(const float *x, void *out, size_t n);
// y[i·ldy + r] = Σ_c W[r][c]·X[i][c] for r < rows, i < m: W given as `rows` rows of GGML blocks of
// `type` (GGUF type id: 2 Q4_0, 6 Q5_0, 8 Q8_0 with 32-blocks; 12 Q4_K, 13 Q5_K, 14 Q6_K with
// 256-blocks), w_row_bytes apart; X as m rows of k values quantized as above, x_row_bytes apart.
void tk_qmatmul(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy);
// Panel products: quantized products for many activation rows (prefill, training). Each group of 16
// weight rows is decoded once into a panel of unsigned 8-bit codes interleaved four columns at a
// time, with a Float32 scale and minimum per row and sub-block (32 values; 16 for Q6_K), and
// multiplied with every activation row by integer multiply-adds (AVX-512 VNNI `vpdpbusd` when
// tk_uses_vnni(), else portable C computing the same integer sums).
// An activation row of k values (a multiple of 32) is tk_qpanel_x_row_bytes(k) bytes: k int8 codes
// (as tk_quantize_q8_32 rounds them), then per 32 values a float d, a float d·Σcodes and an int32
// Σcodes, then per 16 values an int32 Σcodes.
size_t tk_qpanel_x_row_bytes(size_t k);
// Quantizes one row of k values at x into out.
void tk_qpanel_quantize(const float *x, void *out, size_t k);
// Scratch bytes tk_qpanel_matmul needs for `type` with k columns, or 0 when the panel products do
// not take the type (they take Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K).
size_t tk_qpanel_scratch_bytes(int32_t type, size_t k);
// y[i·ldy + r] = Σ_c W[r][c]·X[i][c] for r < rows, i < m, W as for tk_qmatmul, X as m activation
// rows x_row_bytes apart; scratch holds tk_qpanel_scratch_bytes(type, k) bytes, 64-byte aligned.
void tk_qpanel_matmul(int32_t type, const void *w, size_t w_row_bytes, size_t rows, const void *xq,
                      size_t x_row_bytes, size_t m, size_t k, float *y, size_t ldy, void *scratch);
// The same for bitsandbytes 4-bit rows (laid out as for tk_fourbit_matmul; block_size divides k),
// each table value rounded to 127ths — W[r][c] ≈ round(127·table[code])·absmax/127, at most
// absmax/254 from the dequantized weight — and for LLM.int8 rows (W[r][c] = code·scale[r]/127,
// exactly). k is a multiple of 32; scratch holds tk_qpanel_scratch_bytes(8, k) bytes.
void tk_qpanel_matmul_fourbit(const uint8_t *codes, const float *absmax, const float *table, size_t block_size,
                              size_t rows, size_t k, const void *xq, size_t x_row_bytes, size_t m, float *y, size_t ldy,
                              void *scratch);
void tk_qpanel_matmul_int8(const int8_t *codes, const float *scales, size_t rows, size_t k, const void *xq,
                           size_t x_row_bytes, size_t m, float *y, size_t ldy, void *scratch);
// y[i·ldy + c] = (accumulate ? y[i·ldy + c] : 0) + Σ_r W[r][c]·X[i][r] for c < columns, i < m: the
// product with a Float32 matrix W [k][columns] (rows ldw floats apart, k a multiple of 32) read
// transposed — the input gradient dy·W of a linear layer — each 32-row piece of a column rounded
// to 8 bits (steps of its absmax/127) as it is packed. scratch: tk_qpanel_scratch_bytes(8, k).
void tk_qpanel_matmul_f32t(const float *w, size_t ldw, size_t k, size_t columns, const void *xq, size_t x_row_bytes,
                           size_t m, float *y, size_t ldy, int accumulate, void *scratch);
// y[i·ldy + r] = Σ_c W[r][c]·x[i][c] for r < rows, i < m, x [m][columns] Float32, W in bitsandbytes'
// 4-bit layout: codes (two a byte, even element high) of `rows` rows, W[r][c] = table[code]·absmax of
// its block; blocks of block_size elements (a multiple of 16 dividing columns) run along the rows.
void tk_fourbit_matmul(const uint8_t *codes, const float *absmax, const float *table, size_t block_size,
                       size_t rows, size_t columns, const float *x, size_t m, float *y, size_t ldy);
// The same for LLM.int8 rows: W[r][c] = codes[r][c]·scales[r]/127 (any number of columns).
void tk_int8_matmul(const int8_t *codes, const float *scales, size_t rows, size_t columns, const float *x,
                    size_t m, float *y, size_t ldy);

// y[i·ldy + r] = alpha·Σ_c W[r][c]·x[i][c] + beta·y[i·ldy + r] for r < rows, i < m (beta 0: y is only
// written): W row-major, rows ldw floats apart; x m rows ldx apart. Meant for small m (2–16): each
// pair of weight rows is read once for all activation rows.
void tk_dense_matmul(const float *w, size_t ldw, size_t rows, size_t columns, const float *x, size_t ldx,
                     size_t m, float alpha, float beta, float *y, size_t ldy);

#endif
