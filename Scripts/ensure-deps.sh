#!/usr/bin/env bash
# Installs the system packages Tailor needs when they are missing (Debian/Ubuntu): OpenBLAS for
# every module, Open MPI (headers and mpirun) for TailorDistributed, the tailor CLI and their tests.
set -euo pipefail
need=()
[ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ] || need+=(libopenblas-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkgconf)
pkg-config --exists ompi 2>/dev/null || need+=(libopenmpi-dev)
command -v mpirun >/dev/null 2>&1 || need+=(openmpi-bin)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "Installing ${need[*]} ..." >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
fi
