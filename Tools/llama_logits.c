/*
 * tailor-llama-logits: llama.cpp's own logits for given token ids, at every position.
 *
 * Built by Scripts/build-llama-cpp.sh against the static libllama it builds
 * ($TAILOR_CACHE/llama.cpp/build/bin/tailor-llama-logits). Used by Tools/check_gguf_export.py to
 * compare a GGUF written by `tailor export` with Tailor's own logits.
 *
 * Usage: tailor-llama-logits MODEL.gguf OUTPUT TOKENS [--lora ADAPTER.gguf] [--lora-scale S] [--threads N]
 *   TOKENS  comma-separated token ids, e.g. 1,5,17 (evaluated as one sequence from position 0)
 *   OUTPUT  written as int32 token count, int32 vocabulary size, then float32 logits
 *           [tokens][vocabulary], all little-endian
 * Flash attention is off and the KV cache is F32, so the attention is the plain softmax(QK^T)V that Tailor
 * computes, and weights are
 * not repacked into extra buffer types (ggml's AMX path crashes on this machine's CPU in this version).
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */
#include "llama.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet_log(enum ggml_log_level level, const char *text, void *user_data) {
    (void)user_data;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static int fail(const char *message, const char *detail) {
    fprintf(stderr, "tailor-llama-logits: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* Parses "1,5,17" into a malloc'ed array; returns the count, or -1 on a malformed list. */
static int parse_tokens(const char *text, llama_token **out) {
    int capacity = 16, count = 0;
    llama_token *ids = malloc(sizeof *ids * capacity);
    const char *p = text;
    while (ids && *p) {
        char *end = NULL;
        errno = 0;
        long value = strtol(p, &end, 10);
        if (end == p || errno != 0 || value < 0 || value > INT32_MAX) { free(ids); return -1; }
        if (count == capacity) {
            capacity *= 2;
            llama_token *grown = realloc(ids, sizeof *ids * capacity);
            if (!grown) { free(ids); return -1; }
            ids = grown;
        }
        ids[count++] = (llama_token)value;
        p = end;
        if (*p == ',') p++;
        else if (*p != '\0') { free(ids); return -1; }
    }
    *out = ids;
    return ids ? count : -1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        return fail("usage: tailor-llama-logits MODEL.gguf OUTPUT TOKENS [--lora ADAPTER.gguf] [--lora-scale S] [--threads N]", NULL);
    }
    const char *model_path = argv[1], *output_path = argv[2], *lora_path = NULL;
    float lora_scale = 1.0f;
    int threads = 2;
    for (int i = 4; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--lora") == 0) lora_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--lora-scale") == 0) lora_scale = strtof(argv[++i], NULL);
        else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) threads = atoi(argv[++i]);
        else return fail("unknown argument", argv[i]);
    }
    llama_token *tokens = NULL;
    int n_tokens = parse_tokens(argv[3], &tokens);
    if (n_tokens <= 0) return fail("TOKENS must be a non-empty comma-separated list of ids", argv[3]);

    llama_log_set(quiet_log, NULL);
    llama_backend_init();
    struct llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    model_params.use_extra_bufts = false; /* plain CPU weights: no repacked (AMX, interleaved) copies */
    struct llama_model *model = llama_model_load_from_file(model_path, model_params);
    if (!model) return fail("cannot load the model", model_path);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    for (int i = 0; i < n_tokens; i++) {
        if (tokens[i] >= n_vocab) return fail("a token id is outside the vocabulary", argv[3]);
    }

    struct llama_context_params context_params = llama_context_default_params();
    context_params.n_ctx = (uint32_t)n_tokens;
    context_params.n_batch = (uint32_t)n_tokens;
    context_params.n_ubatch = (uint32_t)n_tokens;
    context_params.n_threads = threads;
    context_params.n_threads_batch = threads;
    context_params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    context_params.type_k = GGML_TYPE_F32; /* the default F16 cache would round K and V */
    context_params.type_v = GGML_TYPE_F32;
    context_params.no_perf = true;
    struct llama_context *context = llama_init_from_model(model, context_params);
    if (!context) return fail("cannot create a context", NULL);

    if (lora_path) {
        struct llama_adapter_lora *adapter = llama_adapter_lora_init(model, lora_path);
        if (!adapter) return fail("cannot load the LoRA adapter", lora_path);
        if (llama_set_adapters_lora(context, &adapter, 1, &lora_scale) != 0) return fail("cannot apply the LoRA adapter", lora_path);
    }

    struct llama_batch batch = llama_batch_init(n_tokens, 0, 1);
    for (int i = 0; i < n_tokens; i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n_tokens;
    if (llama_decode(context, batch) != 0) return fail("llama_decode failed", NULL);

    FILE *out = fopen(output_path, "wb");
    if (!out) return fail("cannot write", output_path);
    int32_t header[2] = {n_tokens, n_vocab};
    int ok = fwrite(header, sizeof header, 1, out) == 1;
    for (int i = 0; ok && i < n_tokens; i++) {
        const float *row = llama_get_logits_ith(context, i);
        ok = row && fwrite(row, sizeof *row, (size_t)n_vocab, out) == (size_t)n_vocab;
    }
    if (fclose(out) != 0 || !ok) return fail("cannot write", output_path);

    llama_batch_free(batch);
    llama_free(context);
    llama_model_free(model);
    llama_backend_free();
    free(tokens);
    return 0;
}
