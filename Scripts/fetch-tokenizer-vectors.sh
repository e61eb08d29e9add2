#!/usr/bin/env bash
# Fetches llama.cpp's tokenizer test vectors (vocab-only GGUFs with .inp/.out test strings and ids)
# from the llama-cpp-python 0.3.36 source archive on PyPI (MIT licence) into
# ${TAILOR_CACHE:-$HOME/.cache/tailor}/vocab/. Idempotent. Prints the folder as its last line.
# Usage: bash Scripts/fetch-tokenizer-vectors.sh
set -euo pipefail

VERSION="0.3.36"
CACHE="${TAILOR_CACHE:-$HOME/.cache/tailor}"
DEST="$CACHE/vocab"
NAMES=(gpt-2 qwen2 llama-spm llama-bpe deepseek-llm deepseek-coder)

complete() {
    local name
    for name in "${NAMES[@]}"; do
        for ext in gguf gguf.inp gguf.out; do
            [[ -s "$DEST/ggml-vocab-$name.$ext" ]] || return 1
        done
    done
    return 0
}

mkdir -p "$DEST"
if ! complete; then
    PYTHON="${PYTHON:-python3}"
    ARCHIVE_DIR="$CACHE/downloads"
    mkdir -p "$ARCHIVE_DIR"
    ARCHIVE="$ARCHIVE_DIR/llama_cpp_python-$VERSION.tar.gz"
    if [[ ! -s "$ARCHIVE" ]]; then
        TMP="$(mktemp -d)"
        trap 'rm -rf "$TMP"' EXIT
        # Only llama-cpp-python itself must come as source: `--no-binary :all:` would also force pip to
        # compile cmake and ninja from source just to prepare the metadata.
        "$PYTHON" -m pip download --quiet --no-deps --no-binary llama-cpp-python \
            "llama-cpp-python==$VERSION" -d "$TMP" >&2
        FOUND="$(find "$TMP" -maxdepth 1 -name 'llama_cpp_python-*.tar.gz' | head -n 1)"
        [[ -n "$FOUND" ]] || { echo "error: sdist not found after pip download" >&2; exit 1; }
        mv "$FOUND" "$ARCHIVE"
    fi
    MEMBERS=()
    for name in "${NAMES[@]}"; do
        for ext in gguf gguf.inp gguf.out; do
            MEMBERS+=("llama_cpp_python-$VERSION/vendor/llama.cpp/models/ggml-vocab-$name.$ext")
        done
    done
    tar -xzf "$ARCHIVE" -C "$DEST" --strip-components=4 "${MEMBERS[@]}"
    complete || { echo "error: archive lacks some vocab files" >&2; exit 1; }
fi
echo "$DEST"
