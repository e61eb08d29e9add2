#!/usr/bin/env bash
# Runs Tailor's test suite in release mode (numeric tests crawl in debug builds).
# Installs OpenBLAS when missing and fetches the default model and llama.cpp's tokenizer test
# vectors into ~/.cache/tailor (tests that need them are skipped when a download fails).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-deps.sh
bash Scripts/fetch-default-model.sh >/dev/null || echo "warning: default model unavailable; its tests will be skipped" >&2
bash Scripts/fetch-tokenizer-vectors.sh >/dev/null || echo "warning: tokenizer vectors unavailable; their tests will be skipped" >&2
swift test -c release -Xswiftc -enable-testing "$@"
bash Scripts/readme-example.sh
