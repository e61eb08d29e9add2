// Dense products with few activation rows (decoding a batch), included by kernels_body.h (so built
// twice, like every kernel). BLAS packs the whole weight matrix on every sgemm call, which for 2–16
// rows costs several times the product itself; here each pair of weight rows is read once and
// multiplied with every activation row while it sits in cache, so the product runs at the speed
// the weights stream from memory.

#define TK_DINLINE static inline __attribute__((always_inline))

#if defined(TK_AVX2)
TK_DINLINE float tk_d_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

// out[j·2 + w] = Σ_c W_w[c]·x_j[c] for the nw (1 or 2) weight rows at w0, w1 and the nx (1–4)
// activation rows ldx apart from x.
TK_DINLINE void tk_dense_tile(const float *w0, const float *w1, const int nw, size_t columns, const float *x,
                              size_t ldx, const int nx, float *out) {
    size_t c = 0;
    float sum[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
#if defined(TK_AVX2)
    __m256 a0[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    __m256 a1[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (; c + 8 <= columns; c += 8) {
        __m256 v0 = _mm256_loadu_ps(w0 + c);
        __m256 v1 = nw > 1 ? _mm256_loadu_ps(w1 + c) : v0;
        for (int j = 0; j < nx; j++) {
            __m256 xv = _mm256_loadu_ps(x + j * ldx + c);
            a0[j] = _mm256_fmadd_ps(v0, xv, a0[j]);
            if (nw > 1) a1[j] = _mm256_fmadd_ps(v1, xv, a1[j]);
        }
    }
    for (int j = 0; j < nx; j++) {
        sum[j * 2] = tk_d_hsum(a0[j]);
        if (nw > 1) sum[j * 2 + 1] = tk_d_hsum(a1[j]);
    }
#endif
    for (; c < columns; c++) {
        for (int j = 0; j < nx; j++) {
            float xv = x[j * ldx + c];
            sum[j * 2] += w0[c] * xv;
            if (nw > 1) sum[j * 2 + 1] += w1[c] * xv;
        }
    }
    for (int i = 0; i < 8; i++) out[i] = sum[i];
}

// The tile for a runtime nx, each case with constant sizes so the loops unroll.
TK_DINLINE void tk_dense_tile_any(const float *w0, const float *w1, const int nw, size_t columns, const float *x,
                                  size_t ldx, size_t nx, float *out) {
    if (nw > 1) {
        switch (nx) {
        case 1: tk_dense_tile(w0, w1, 2, columns, x, ldx, 1, out); break;
        case 2: tk_dense_tile(w0, w1, 2, columns, x, ldx, 2, out); break;
        case 3: tk_dense_tile(w0, w1, 2, columns, x, ldx, 3, out); break;
        default: tk_dense_tile(w0, w1, 2, columns, x, ldx, 4, out); break;
        }
    } else {
        switch (nx) {
        case 1: tk_dense_tile(w0, w0, 1, columns, x, ldx, 1, out); break;
        case 2: tk_dense_tile(w0, w0, 1, columns, x, ldx, 2, out); break;
        case 3: tk_dense_tile(w0, w0, 1, columns, x, ldx, 3, out); break;
        default: tk_dense_tile(w0, w0, 1, columns, x, ldx, 4, out); break;
        }
    }
}

void KFN(tk_dense_matmul)(const float *w, size_t ldw, size_t rows, size_t columns, const float *x, size_t ldx,
                          size_t m, float alpha, float beta, float *y, size_t ldy) {
    for (size_t r = 0; r < rows; r += 2) {
        const int nw = r + 1 < rows ? 2 : 1;
        const float *w0 = w + r * ldw, *w1 = w0 + (nw > 1 ? ldw : 0);
        for (size_t i = 0; i < m; i += 4) {
            size_t nx = m - i < 4 ? m - i : 4;
            float o[8];
            tk_dense_tile_any(w0, w1, nw, columns, x + i * ldx, ldx, nx, o);
            for (size_t j = 0; j < nx; j++) {
                for (int k = 0; k < nw; k++) {
                    float *dst = y + (i + j) * ldy + r + k;
                    float v = alpha * o[j * 2 + k];
                    *dst = beta == 0.0f ? v : v + beta * *dst;
                }
            }
        }
    }
}
