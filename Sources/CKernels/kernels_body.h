// Kernel bodies, included by kernels_avx2.c and kernels_portable.c with KFN(name) naming each
// build. Plain loops written so clang vectorises them; reassociation is allowed for reductions.
#include <math.h>
#include <string.h>
#include "CKernels.h"

#pragma clang fp reassociate(on) contract(fast)

// sqrtf may set errno, which keeps loops calling it scalar; the element-wise builtin does not.
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
#define TK_SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define TK_SQRT(x) sqrtf(x)
#endif

static inline float tk_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float tk_sigmoidf(float x) { return 1.0f / (1.0f + tk_expf(-x)); }

static inline float tk_tanhf(float x) {
    float e = tk_expf(2.0f * x);
    return 1.0f - 2.0f / (e + 1.0f);
}

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26).
static inline float tk_erff(float x) {
    float s = x < 0 ? -1.0f : 1.0f;
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    return s * (1.0f - y * tk_expf(-a * a));
}

void KFN(tk_exp)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = tk_expf(x[i]);
}

// fmaxf, unlike a compare-and-select, is vectorised as a max reduction (vmaxps).
static inline float row_max(const float *x, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, x[i]);
    return m;
}

void KFN(tk_softmax_rows)(const float *in, float *out, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * cols;
        float *y = out + r * cols;
        float m = row_max(x, cols);
        float s = 0;
        for (size_t i = 0; i < cols; i++) { float e = tk_expf(x[i] - m); y[i] = e; s += e; }
        float inv = 1.0f / s;
        for (size_t i = 0; i < cols; i++) y[i] *= inv;
    }
}

float KFN(tk_softmax_lse)(const float *in, float *out, size_t n) {
    float m = row_max(in, n);
    float s = 0;
    for (size_t i = 0; i < n; i++) { float e = tk_expf(in[i] - m); out[i] = e; s += e; }
    float inv = 1.0f / s;
    for (size_t i = 0; i < n; i++) out[i] *= inv;
    return m + logf(s);
}

void KFN(tk_exp_shifted)(const float *x, float *y, size_t n, float shift) {
    for (size_t i = 0; i < n; i++) y[i] = tk_expf(x[i] - shift);
}

void KFN(tk_logsumexp_rows)(const float *in, float *lse, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * cols;
        float m = row_max(x, cols);
        float s = 0;
        for (size_t i = 0; i < cols; i++) s += tk_expf(x[i] - m);
        lse[r] = m + logf(s);
    }
}

float KFN(tk_sum)(const float *x, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

float KFN(tk_sum_squares)(const float *x, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * x[i];
    return s;
}

float KFN(tk_dot)(const float *a, const float *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void KFN(tk_silu)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * tk_sigmoidf(x[i]);
}

void KFN(tk_silu_backward)(const float *x, const float *dy, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = tk_sigmoidf(x[i]);
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

#define TK_GELU_C 0.7978845608028654f
void KFN(tk_gelu_tanh)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float t = tk_tanhf(TK_GELU_C * (v + 0.044715f * v * v * v));
        y[i] = 0.5f * v * (1.0f + t);
    }
}

void KFN(tk_gelu_tanh_backward)(const float *x, const float *dy, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float t = tk_tanhf(TK_GELU_C * (v + 0.044715f * v * v * v));
        float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * TK_GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dy[i] * d;
    }
}

void KFN(tk_gelu_erf)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + tk_erff(x[i] * 0.7071067811865476f));
}

void KFN(tk_gelu_erf_backward)(const float *x, const float *dy, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float d = 0.5f * (1.0f + tk_erff(v * 0.7071067811865476f)) + v * tk_expf(-0.5f * v * v) * 0.3989422804014327f;
        dx[i] = dy[i] * d;
    }
}

void KFN(tk_tanh)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = tk_tanhf(x[i]);
}

void KFN(tk_swiglu)(const float *gate, const float *up, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = gate[i] * tk_sigmoidf(gate[i]) * up[i];
}

void KFN(tk_swiglu_backward)(const float *gate, const float *up, const float *dy, float *dgate, float *dup, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        float s = tk_sigmoidf(g);
        float silu = g * s;
        if (dup) dup[i] = dy[i] * silu;
        if (dgate) dgate[i] = dy[i] * up[i] * s * (1.0f + g * (1.0f - s));
    }
}

void KFN(tk_rmsnorm)(const float *x, const float *w, float *y, float *rstd, size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float ss = 0;
        for (size_t i = 0; i < cols; i++) ss += xr[i] * xr[i];
        float rs = 1.0f / sqrtf(ss / (float)cols + eps);
        if (rstd) rstd[r] = rs;
        if (w) { for (size_t i = 0; i < cols; i++) yr[i] = xr[i] * rs * w[i]; }
        else { for (size_t i = 0; i < cols; i++) yr[i] = xr[i] * rs; }
    }
}

void KFN(tk_rmsnorm_backward)(const float *x, const float *w, const float *rstd, const float *dy,
                              float *dx, float *dw, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *dyr = dy + r * cols;
        float rs = rstd[r];
        if (dx) {
            float dot = 0;
            if (w) { for (size_t i = 0; i < cols; i++) dot += w[i] * dyr[i] * xr[i]; }
            else { for (size_t i = 0; i < cols; i++) dot += dyr[i] * xr[i]; }
            float k = rs * rs * dot / (float)cols;
            float *dxr = dx + r * cols;
            if (w) { for (size_t i = 0; i < cols; i++) dxr[i] = rs * (w[i] * dyr[i] - xr[i] * k); }
            else { for (size_t i = 0; i < cols; i++) dxr[i] = rs * (dyr[i] - xr[i] * k); }
        }
        if (dw) { for (size_t i = 0; i < cols; i++) dw[i] += dyr[i] * xr[i] * rs; }
    }
}

void KFN(tk_layernorm)(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                       size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float s = 0;
        for (size_t i = 0; i < cols; i++) s += xr[i];
        float mu = s / (float)cols;
        float v = 0;
        for (size_t i = 0; i < cols; i++) { float d = xr[i] - mu; v += d * d; }
        float rs = 1.0f / sqrtf(v / (float)cols + eps);
        if (mean) mean[r] = mu;
        if (rstd) rstd[r] = rs;
        for (size_t i = 0; i < cols; i++) {
            float h = (xr[i] - mu) * rs;
            yr[i] = h * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
        }
    }
}

void KFN(tk_layernorm_backward)(const float *x, const float *w, const float *mean, const float *rstd,
                                const float *dy, float *dx, float *dw, float *db, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *dyr = dy + r * cols;
        float mu = mean[r], rs = rstd[r];
        if (dx) {
            float sg = 0, sgh = 0;
            for (size_t i = 0; i < cols; i++) {
                float g = dyr[i] * (w ? w[i] : 1.0f);
                float h = (xr[i] - mu) * rs;
                sg += g; sgh += g * h;
            }
            sg /= (float)cols; sgh /= (float)cols;
            float *dxr = dx + r * cols;
            for (size_t i = 0; i < cols; i++) {
                float g = dyr[i] * (w ? w[i] : 1.0f);
                float h = (xr[i] - mu) * rs;
                dxr[i] = rs * (g - sg - h * sgh);
            }
        }
        if (dw) { for (size_t i = 0; i < cols; i++) dw[i] += dyr[i] * (xr[i] - mu) * rs; }
        if (db) { for (size_t i = 0; i < cols; i++) db[i] += dyr[i]; }
    }
}

void KFN(tk_rope)(const float *x, float *y, size_t rows, size_t heads, size_t dim, const int32_t *pos,
                  const float *cos_table, const float *sin_table, int neox, int inverse) {
    size_t half = dim / 2;
    float sign = inverse ? -1.0f : 1.0f;
    for (size_t r = 0; r < rows; r++) {
        const float *c = cos_table + (size_t)pos[r] * half;
        const float *s = sin_table + (size_t)pos[r] * half;
        for (size_t h = 0; h < heads; h++) {
            const float *xv = x + (r * heads + h) * dim;
            float *yv = y + (r * heads + h) * dim;
            if (neox) {
                for (size_t i = 0; i < half; i++) {
                    float a = xv[i], b = xv[i + half], sn = sign * s[i];
                    yv[i] = a * c[i] - b * sn;
                    yv[i + half] = b * c[i] + a * sn;
                }
            } else {
                for (size_t i = 0; i < half; i++) {
                    float a = xv[2 * i], b = xv[2 * i + 1], sn = sign * s[i];
                    yv[2 * i] = a * c[i] - b * sn;
                    yv[2 * i + 1] = b * c[i] + a * sn;
                }
            }
        }
    }
}

void KFN(tk_cross_entropy_backward)(const float *logits, const float *lse, const int32_t *targets,
                                    const float *scale, float *grad, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *x = logits + r * cols;
        float *g = grad + r * cols;
        float sc = scale[r], l = lse[r];
        if (sc == 0.0f) { memset(g, 0, cols * sizeof(float)); continue; }
        for (size_t i = 0; i < cols; i++) g[i] = tk_expf(x[i] - l) * sc;
        int32_t t = targets[r];
        if (t >= 0 && (size_t)t < cols) g[t] -= sc;
    }
}

void KFN(tk_adamw)(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                   float eps, float weight_decay, float bias_correction1, float bias_correction2) {
    float decay = 1.0f - lr * weight_decay;
    float step = lr / bias_correction1;
    float inv_sqrt_bc2 = 1.0f / sqrtf(bias_correction2);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i] = p[i] * decay - step * mi / (TK_SQRT(vi) * inv_sqrt_bc2 + eps);
    }
}

// bitsandbytes' 8-bit AdamW on blocks [b0, b1) of `block` values (the last block of n may be
// short): decode both moments (code[c] * absmax), update them and the weights, encode them again
// against 65536-entry tables of [-1, 1]. Evaluated exactly as written (no contraction or
// reassociation), so every build gives the same bits as the reference.
void KFN(tk_adamw8bit_blocks)(float *w, const float *g, uint8_t *c1, float *a1, uint8_t *c2, float *a2,
                              const float *code1, const float *code2, const uint8_t *table1, const uint8_t *table2,
                              size_t n, size_t block, size_t b0, size_t b1, const tk_adamw8bit_settings *s) {
#pragma clang fp reassociate(off) contract(off)
    float m[256], v[256];
    for (size_t b = b0; b < b1; b++) {
        size_t lo = b * block, count = n - lo < block ? n - lo : block;
        float s1 = a1[b], s2 = a2[b], max1 = 0.0f, max2 = 0.0f;
        for (size_t i = 0; i < count; i++) {
            float gi = g[lo + i] * s->gradient_scale;
            float mi = code1[c1[lo + i]] * s1 * s->beta1 + s->one_minus_beta1 * gi;
            float vi = code2[c2[lo + i]] * s2 * s->beta2 + s->one_minus_beta2 * gi * gi;
            float denominator = sqrtf(vi) / s->correction2 + s->eps;
            float wi = w[lo + i];
            if (s->decays) wi = wi * s->decay;
            w[lo + i] = wi + s->step_size * mi / denominator;
            m[i] = mi; v[i] = vi;
            float am = fabsf(mi), av = fabsf(vi);
            max1 = am >= max1 ? am : max1;  // NaN-ignoring, as bitsandbytes
            max2 = av >= max2 ? av : max2;
        }
        const float *values[2] = {m, v};
        const float maxima[2] = {max1, max2};
        uint8_t *codes[2] = {c1 + lo, c2 + lo};
        const uint8_t *tables[2] = {table1, table2};
        for (int k = 0; k < 2; k++) {
            float mx = maxima[k];
            if (mx == 0.0f) { memset(codes[k], 0, count); continue; }
            float inverse = 1.0f / mx;
            for (size_t i = 0; i < count; i++) {
                float x = values[k][i] * inverse;
                x = x >= -1.0f ? x : -1.0f;
                x = x < 1.0f ? x : 1.0f;
                float scaled = ((x + 1.0f) * 0.5f) * 65535.0f;
                codes[k][i] = tables[k][(int32_t)(scaled + 0.5f)];
            }
        }
        a1[b] = max1; a2[b] = max2;
    }
}

// Integer products of quantized weight blocks with 8-bit activation blocks.
#include "quant_kernels_body.h"

// Dense products with few activation rows.
#include "dense_kernels_body.h"
