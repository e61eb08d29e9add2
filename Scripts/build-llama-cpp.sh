#!/usr/bin/env bash
# Builds llama.cpp (CPU only) as a side-by-side inference peer for Tailor's benchmarks.
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
#         $TAILOR_CACHE/llama.cpp/build/bin/llama-bench            (and llama-batched-bench)
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

# 4. configure and build (CPU only, native ISA, no network code, only the tools we use)
if [ ! -f "$build/CMakeCache.txt" ]; then
  log "configuring"
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF >&2 \
    || die "cmake configure failed"
fi
log "building llama-bench and llama-batched-bench with -j$jobs"
cmake --build "$build" --config Release -j "$jobs" --target llama-bench llama-batched-bench >&2 \
  || die "build failed"

bench="$build/bin/llama-bench"
[ -x "$bench" ] || die "llama-bench was not produced"
echo "$bench"
