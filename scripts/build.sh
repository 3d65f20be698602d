#!/usr/bin/env bash
# Configures and builds one CMake preset: scripts/build.sh [PRESET] [TARGET...]
# Installs missing Debian packages first. Default preset: release.
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-release}"
shift || true
bash scripts/install-deps.sh >&2
jobs="${FNJAIL_JOBS:-2}"
if [[ ! -f "build/${preset}/build.ninja" ]]; then
  cmake --preset "${preset}" >&2
fi
if (($# > 0)); then
  cmake --build "build/${preset}" -j "${jobs}" --target "$@" >&2
else
  cmake --build "build/${preset}" -j "${jobs}" >&2
fi
