#!/usr/bin/env bash
# Runs Tailor's main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-deps.sh
swift run -c release tailor-bench matmul --quick
