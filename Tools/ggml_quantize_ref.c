/*
 * ggml-quantize-ref: runs ggml's own reference quantizers (quantize_row_*_ref in ggml-quants.c, what
 * llama-quantize uses without an importance matrix) on a file of Float32 values.
 *
 * Built and run by Tools/make_kquant_fixtures.py against the static libggml-base.a that
 * Scripts/build-llama-cpp.sh builds; the fixtures it makes are what Tailor's encoders are checked against.
 *
 * Usage: ggml-quantize-ref TYPE INPUT.f32 OUTPUT
 *   TYPE    q4_1, q5_1, q4_K, q5_K or q6_K
 *   INPUT   little-endian float32 values, a whole number of blocks (32 or 256)
 *   OUTPUT  the encoded blocks, as ggml lays them out in memory (and in GGUF files)
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ggml-quants.h is internal to ggml; the blocks are passed as opaque bytes. */
void quantize_row_q4_1_ref(const float *x, void *y, int64_t k);
void quantize_row_q5_1_ref(const float *x, void *y, int64_t k);
void quantize_row_q4_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q5_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q6_K_ref(const float *x, void *y, int64_t k);

struct format {
    const char *name;
    int block_values, block_bytes;
    void (*quantize)(const float *, void *, int64_t);
};

static const struct format formats[] = {
    {"q4_1", 32, 20, quantize_row_q4_1_ref},
    {"q5_1", 32, 24, quantize_row_q5_1_ref},
    {"q4_K", 256, 144, quantize_row_q4_K_ref},
    {"q5_K", 256, 176, quantize_row_q5_K_ref},
    {"q6_K", 256, 210, quantize_row_q6_K_ref},
};

static int fail(const char *message, const char *detail) {
    fprintf(stderr, "ggml-quantize-ref: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) return fail("usage: ggml-quantize-ref TYPE INPUT.f32 OUTPUT", NULL);
    const struct format *f = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, argv[1]) == 0) f = &formats[i];
    if (!f) return fail("unknown type", argv[1]);

    FILE *in = fopen(argv[2], "rb");
    if (!in) return fail("cannot open", argv[2]);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    if (size <= 0 || size % (4L * f->block_values) != 0) return fail("input is not a whole number of blocks", argv[2]);
    int64_t count = size / 4, blocks = count / f->block_values;
    float *x = malloc((size_t)size);
    void *y = calloc((size_t)blocks, (size_t)f->block_bytes);
    if (!x || !y) return fail("out of memory", NULL);
    if (fread(x, 1, (size_t)size, in) != (size_t)size) return fail("cannot read", argv[2]);
    fclose(in);

    f->quantize(x, y, count);

    FILE *out = fopen(argv[3], "wb");
    if (!out) return fail("cannot create", argv[3]);
    if (fwrite(y, 1, (size_t)(blocks * f->block_bytes), out) != (size_t)(blocks * f->block_bytes)) return fail("cannot write", argv[3]);
    fclose(out);
    free(x);
    free(y);
    return 0;
}
