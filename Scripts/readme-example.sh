#!/usr/bin/env bash
# Builds and runs Examples/ReadmeExample — the README's Swift example as a separate package that
# depends on Tailor by path — on the tiny Qwen2 fixture and the CLI tests' JSONL data. Fails when
# the example no longer compiles, training does not lower the loss, or no adapter is saved.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
fixtures="$root/Tests/GenerateTests/Fixtures/cli"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd Examples/ReadmeExample
swift build -c release 2>&1 | tail -3
.build/release/ReadmeExample "$fixtures/tiny-qwen2" "$fixtures/train.jsonl" "$fixtures/valid.jsonl" "$out/my-adapter"
