#!/usr/bin/env bash
# Installs the Debian 12 packages that fnjail's build, tests, fuzzers and benchmarks need.
# Idempotent: packages already installed are skipped, and apt is not touched at all when
# nothing is missing. Runs as root, or through sudo when available.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang-14 libclang-rt-14-dev
  # libraries
  libtomlplusplus-dev nlohmann-json3-dev libvalijson-dev libexpected-dev libcli11-dev
  libboost1.81-dev libssl-dev libseccomp-dev libcap-dev liblua5.4-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the quick start: curl for its printed commands, openssl to mint the demo JWT
  curl openssl
  # the example Python functions (exec runtime)
  python3 python3-jinja2 python3-pil python3-igraph
  # peers and load generators the bench/ scripts use
  nodejs npm bubblewrap nginx wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# nodejs/npm may come from elsewhere on a developer machine; accept any working pair.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
  done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
