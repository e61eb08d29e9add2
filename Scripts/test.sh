#!/usr/bin/env bash
# Runs Tailor's test suite (release build: the numeric tests crawl in debug builds).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-deps.sh
swift test -c release "$@"
