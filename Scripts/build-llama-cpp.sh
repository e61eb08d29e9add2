#!/usr/bin/env bash
# Builds llama.cpp (CPU only) as a side-by-side inference peer for Tailor's benchmarks, and as the
# independent reader that checks Tailor's GGUF export (Tools/check_gguf_export.py).
#
# The source comes from the PyPI source archive llama-cpp-python==0.3.36 (MIT), which vendors the
# full llama.cpp tree under vendor/llama.cpp (no GitHub access is needed).
#
# Usage: Scripts/build-llama-cpp.sh
#   TAILOR_CACHE  cache root (default: ~/.cache/tailor)
#   JOBS          parallel compile jobs (default: 2)
#
# Layout: $TAILOR_CACHE/downloads/llama_cpp_python-0.3.36.tar.gz   (reused when present)
#         $TAILOR_CACHE/llama.cpp/src                              (extracted vendor/llama.cpp)
#         $TAILOR_CACHE/llama.cpp/build/bin/llama-bench            (and llama-batched-bench, llama-server,
#                                                                  llama-tokenize, llama-quantize)
#         $TAILOR_CACHE/llama.cpp/build/bin/tailor-llama-logits    (Tools/llama_logits.c: all-position
#                                                                  logits for given token ids, optional LoRA)
#         $TAILOR_CACHE/llama.cpp/build/src/libllama.a             (static; with ggml/src/libggml*.a)
#         $TAILOR_CACHE/llama.cpp/COMMIT                           (the vendored llama.cpp commit)
# Idempotent: an existing extraction is reused and cmake rebuilds only what changed.
# Installs cmake with apt-get when it is missing. Progress goes to stderr; the last line of stdout
# is the absolute path of llama-bench.
set -euo pipefail

readonly VERSION="0.3.36"
readonly SDIST="llama_cpp_python-$VERSION.tar.gz"

log() { echo "build-llama-cpp: $*" >&2; }
die() { log "error: $*"; exit 1; }

cache_root="${TAILOR_CACHE:-$HOME/.cache/tailor}"
downloads="$cache_root/downloads"
root="$cache_root/llama.cpp"
src="$root/src"
build="$root/build"
jobs="${JOBS:-2}"
mkdir -p "$downloads" "$root"

# 1. cmake
if ! command -v cmake >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing cmake"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq cmake >&2
fi
command -v cmake >/dev/null 2>&1 || die "cmake is not available"

# 2. source archive
archive="$downloads/$SDIST"
if [ -f "$archive" ] && ! gzip -t "$archive" 2>/dev/null; then
  log "cached $SDIST is damaged; fetching it again"
  rm -f "$archive"
fi
if [ ! -f "$archive" ]; then
  tmp="$(mktemp -d "$downloads/.llama.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "downloading llama-cpp-python==$VERSION source archive (~77 MB)"
  python3 -m pip download --quiet --no-deps --no-binary :all: --disable-pip-version-check \
    -d "$tmp" "llama-cpp-python==$VERSION" >&2 || die "pip download failed"
  [ -f "$tmp/$SDIST" ] || die "pip did not produce $SDIST"
  mv -f "$tmp/$SDIST" "$archive"
fi

# 3. extract vendor/llama.cpp (once)
if [ ! -f "$src/CMakeLists.txt" ]; then
  log "extracting vendor/llama.cpp"
  rm -rf "$src" "$root/.extract"
  mkdir -p "$root/.extract"
  tar -xzf "$archive" -C "$root/.extract" "llama_cpp_python-$VERSION/vendor/llama.cpp" \
    || die "could not extract vendor/llama.cpp from $archive"
  mv "$root/.extract/llama_cpp_python-$VERSION/vendor/llama.cpp" "$src"
  rm -rf "$root/.extract"
fi
# The vendored tree has no .git; its commit is recorded in the archive's submodule HEAD.
if [ ! -s "$root/COMMIT" ]; then
  tar -xzOf "$archive" "llama_cpp_python-$VERSION/.git/modules/vendor/llama.cpp/HEAD" 2>/dev/null \
    | head -c 40 >"$root/COMMIT" || true
fi

# 4. configure and build (CPU only, the machine's ISA, no network code, only the tools we use). The
#    server is built without HTTPS and without its web UI (no download at configure or build
#    time). Configuring again with the same options is a no-op, so an older build dir is updated.
#    On CPUs with AMX the ISA is spelled out from /proc/cpuinfo instead of -march=native, with AMX
#    off: this version's AMX matrix path (which -march=native turns on) crashes with SIGSEGV in
#    ggml_backend_amx_mul_mat on Q4_K/Q8_0 weights.
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has_flag() { [[ "$cpu_flags" == *" $1 "* ]]; }
isa=(-DGGML_NATIVE=ON)
if has_flag amx_int8 || has_flag amx_tile; then
  isa=(-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
  for pair in sse4_2:SSE42 avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx512f:AVX512 avx512vbmi:AVX512_VBMI \
              avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
    if has_flag "${pair%%:*}"; then isa+=("-DGGML_${pair#*:}=ON"); else isa+=("-DGGML_${pair#*:}=OFF"); fi
  done
  log "CPU has AMX: building without it (${isa[*]})"
fi
log "configuring"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release "${isa[@]}" \
  -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF >&2 \
  || die "cmake configure failed"
# libllama and the logits tool first (the export check needs only them), then the other tools.
log "building libllama with -j$jobs"
cmake --build "$build" --config Release -j "$jobs" --target llama >&2 || die "build of libllama failed"

# 5. tailor-llama-logits, a small C program against llama.h and the static libraries above
tool_src="$(cd "$(dirname "$0")/.." && pwd)/Tools/llama_logits.c"
logits="$build/bin/tailor-llama-logits"
log "compiling $logits"
mkdir -p "$build/bin"
mapfile -t ggml_libs < <(find "$build/ggml/src" -name 'libggml*.a' | sort -r)
[ -f "$build/src/libllama.a" ] && [ "${#ggml_libs[@]}" -gt 0 ] || die "libllama.a or the ggml libraries are missing"
cc -O2 -std=c11 -I "$src/include" -I "$src/ggml/include" "$tool_src" -o "$logits" \
  "$build/src/libllama.a" -Wl,--start-group "${ggml_libs[@]}" -Wl,--end-group \
  -lstdc++ -lm -lpthread -fopenmp >&2 || die "compiling Tools/llama_logits.c failed"

# 6. the tools
log "building llama-tokenize, llama-bench, llama-batched-bench, llama-server and llama-quantize with -j$jobs"
cmake --build "$build" --config Release -j "$jobs" --target llama-tokenize llama-bench llama-batched-bench llama-server llama-quantize >&2 \
  || die "build failed"

bench="$build/bin/llama-bench"
for tool in "$bench" "$build/bin/llama-batched-bench" "$build/bin/llama-server" "$build/bin/llama-tokenize" "$build/bin/llama-quantize" "$logits"; do
  [ -x "$tool" ] || die "$(basename "$tool") was not produced"
done
echo "$bench"
