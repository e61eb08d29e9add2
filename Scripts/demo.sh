#!/usr/bin/env bash
# Tailor's main job: fine-tune the default model on a narrow task and show that it learned.
# Installs OpenBLAS when missing, fetches the default model (~490 MB, cached), builds in release
# mode and runs the fine-tuning demo (a few minutes on 2 cores). Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-deps.sh
MODEL="$(bash Scripts/fetch-default-model.sh | tail -n 1)"
swift build -c release --product tailor-finetune-demo >&2
exec .build/release/tailor-finetune-demo --model "$MODEL" "$@"
