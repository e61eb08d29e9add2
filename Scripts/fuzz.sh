#!/usr/bin/env bash
# Runs one libFuzzer harness of Fuzz/Harnesses for SECONDS seconds.
#
#   Scripts/fuzz.sh NAME SECONDS [libFuzzer options…]   fuzz (working corpus in .build/fuzz-corpus/NAME)
#   Scripts/fuzz.sh --minimize NAME                     merge the working corpus into the committed one
#                                                       (smallest inputs up to CAP_KB, default 150 KB)
#   Scripts/fuzz.sh --list                              harness names
#
# NAME: gguf, safetensors, tokenizer, config, jsonl, chat, ggml, adapter-config, checkpoint.
# Builds tailor-fuzz in .build/fuzz with -DFUZZING, SanitizerCoverage and AddressSanitizer, linked
# against the toolchain's libFuzzer (no main; tailor-fuzz calls LLVMFuzzerRunDriver). Crashes go to
# .build/fuzz-artifacts/NAME/; copy each (after fixing it) into the committed corpus
# Tests/FuzzTests/Fixtures/FuzzCorpus/NAME/, which FuzzCorpusReplayTests replays in the normal suite.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESSES="gguf safetensors tokenizer config jsonl chat ggml adapter-config checkpoint"
if [[ "${1:-}" == "--list" ]]; then echo "$HARNESSES"; exit 0; fi

swift_dir="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")"
libfuzzer="$(ls "$swift_dir"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)"
build() {
    swift build -c release --product tailor-fuzz --scratch-path .build/fuzz \
        -Xswiftc -DFUZZING -Xswiftc -sanitize=address \
        -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
        -Xcc -fsanitize=address -Xcc -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp \
        -Xlinker "$libfuzzer" -Xlinker -lstdc++ >&2
}
binary=.build/fuzz/release/tailor-fuzz
committed() { echo "Tests/FuzzTests/Fixtures/FuzzCorpus/$1"; }

if [[ "${1:-}" == "--minimize" ]]; then
    name="$2"; work=".build/fuzz-corpus/$name"; out="$(committed "$name")"
    build
    tmp="$(mktemp -d)"
    TAILOR_FUZZ_HARNESS="$name" "$binary" -merge=1 -max_len=16384 "$tmp" "$out" "$work" >&2
    # Keep the committed corpus small: the smallest merged inputs up to ${CAP_KB:-150} KB, plus every
    # input that once crashed (regress-*).
    keep="$(mktemp -d)"; cp "$out"/regress-* "$keep"/ 2>/dev/null || true
    total=0
    while read -r size file; do
        (( total + size > ${CAP_KB:-150} * 1024 )) && break
        total=$(( total + size )); cp "$file" "$keep"/
    done < <(find "$tmp" -type f -printf '%s %p\n' | sort -n)
    rm -rf "$out"; mkdir -p "$out"; cp "$keep"/* "$out"/; rm -rf "$tmp" "$keep"
    echo "$(ls "$out" | wc -l) inputs, $(du -sh "$out" | cut -f1) in $out"
    exit 0
fi

name="${1:?usage: Scripts/fuzz.sh NAME SECONDS [libFuzzer options]}"
seconds="${2:?usage: Scripts/fuzz.sh NAME SECONDS [libFuzzer options]}"
shift 2
work=".build/fuzz-corpus/$name"; artifacts=".build/fuzz-artifacts/$name/"
mkdir -p "$work" "$artifacts" "$(committed "$name")"
build

# Seeds: the repository's own small fixtures of that format.
seed() { for f in "$@"; do [[ -f "$f" ]] && cp "$f" "$work/seed-$(basename "$(dirname "$f")")-$(basename "$f")"; done; return 0; }
case "$name" in
    gguf) seed Tests/ModelTests/Fixtures/gguf/tiny_*.gguf Tests/ModelTests/Fixtures/gguf/all_types.gguf ;;
    safetensors) seed Tests/ModelTests/Fixtures/safetensors/*.safetensors Tests/GenerateTests/Fixtures/cli/adapter/*.safetensors ;;
    tokenizer) seed Tests/GenerateTests/Fixtures/cli/tiny-qwen2/tokenizer.json Tests/ModelTests/Fixtures/tokenizers/*/tokenizer.json ;;
    config) seed Tests/ModelTests/Fixtures/tiny-models/*/config.json Tests/GenerateTests/Fixtures/cli/tiny-qwen2/config.json ;;
    jsonl) seed Tests/GenerateTests/Fixtures/cli/*.jsonl ;;
    chat) printf 'system\0\x01hello\0\x02answer' > "$work/seed-messages"; seed Tests/ModelTests/Fixtures/tokenizers/*/tokenizer_config.json ;;
    ggml) python3 - "$work" <<'PY'
import os, sys
rng = os.urandom
for t in range(40):
    open(os.path.join(sys.argv[1], f"seed-type{t}"), "wb").write(bytes([t]) + rng(290))
PY
    ;;
    checkpoint) ;;  # its seed (a real checkpoint) is in the committed corpus: tailor-fuzz checkpoint --write-seed FILE
    adapter-config) seed Tests/GenerateTests/Fixtures/cli/adapter/adapter_config.json Tests/PEFTTests/Fixtures/*/adapter_config.json ;;
    *) echo "unknown harness $name (one of: $HARNESSES)" >&2; exit 2 ;;
esac

TAILOR_FUZZ_HARNESS="$name" exec "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=16384 \
    -artifact_prefix="$artifacts" -print_final_stats=1 "$@" "$work" "$(committed "$name")"
