#!/usr/bin/env bash
# Runs `openssl speed -evp aes-256-gcm` and fnjail's AEAD, channel, audit, JWT and
# handshake benchmarks in the same run, and prints each figure with its ratio to the goal
# of issue 4:
#   channel records of 16 KiB >= 0.8x raw AEAD (openssl speed, and raw EVP in-process);
#   audit appends >= 50k records/s with group commit;
# and the figures without a goal: a 1 KiB round trip over a socketpair, JWT verification
# per algorithm with and without the cache, the remote channel's handshake.
#
# usage: bench/crypto_compare.sh [--build-dir DIR] [--seconds N]
#
# The benchmarks are built with scripts/build.sh when missing. The audit benchmark writes
# its logs in $FNJAIL_BENCH_DIR (default: a temporary folder under the build dir, on disk:
# fdatasync on tmpfs would be free and the figure meaningless).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${root}/build/release"
seconds=2

die() {
  echo "crypto_compare: error: $*" >&2
  exit 1
}

while (($# > 0)); do
  case "$1" in
    --build-dir) build_dir="${2:?--build-dir needs a value}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \`$1\` (see --help)" ;;
  esac
done
[[ "${seconds}" =~ ^[0-9]+$ ]] || die "--seconds takes a whole number"
build_dir="$(cd "${build_dir}" 2>/dev/null && pwd)" || die "no build folder \`${build_dir}\`"
command -v openssl >/dev/null || die "openssl not found"

aead_bench="${build_dir}/bench/crypto_aead_bench"
channel_bench="${build_dir}/bench/crypto_channel_bench"
audit_bench="${build_dir}/bench/crypto_audit_bench"
jwt_bench="${build_dir}/bench/crypto_jwt_bench"
handshake_bench="${build_dir}/bench/crypto_handshake_bench"
if [[ ! -x "${aead_bench}" || ! -x "${audit_bench}" || ! -x "${channel_bench}" ||
      ! -x "${jwt_bench}" || ! -x "${handshake_bench}" ]]; then
  bash "${root}/scripts/build.sh" release crypto_aead_bench crypto_channel_bench \
    crypto_audit_bench crypto_jwt_bench crypto_handshake_bench >&2
fi

bench_dir="${FNJAIL_BENCH_DIR:-}"
cleanup=""
if [[ -z "${bench_dir}" ]]; then
  bench_dir="$(mktemp -d "${build_dir}/crypto_compare.XXXXXX")"
  cleanup="${bench_dir}"
fi
trap '[[ -n "${cleanup}" ]] && rm -rf "${cleanup}"' EXIT

# Value of `field` (a number) in the Google Benchmark JSON entry named `name`.
field() {
  local json="$1" name="$2" key="$3"
  awk -v name="\"${name}\"" -v key="\"${key}\"" '
    $1 == "\"name\":" && $2 == name "," { found = 1 }
    found && $1 == key ":" { gsub(/,/, "", $2); print $2; exit }
  ' <<<"${json}"
}

echo "== openssl speed -evp aes-256-gcm (16384-byte blocks, ${seconds}s)"
speed_line="$(openssl speed -evp aes-256-gcm -bytes 16384 -seconds "${seconds}" 2>/dev/null |
  grep -i '^aes-256-gcm' | tail -1)"
# The figure is in thousands of bytes per second, e.g. `4100621.13k`.
openssl_bps="$(awk '{ v = $NF; sub(/k$/, "", v); printf "%.0f", v * 1000 }' <<<"${speed_line}")"
[[ -n "${openssl_bps}" && "${openssl_bps}" != 0 ]] || die "cannot read openssl speed output"

echo "== crypto_aead_bench (same run)"
aead_json="$("${aead_bench}" --benchmark_filter='BM_(AeadSeal|RawEvpAesGcmSeal)/16384$' \
  --benchmark_min_time="${seconds}" --benchmark_format=json 2>/dev/null)" ||
  die "crypto_aead_bench failed"
fnjail_bps="$(field "${aead_json}" "BM_AeadSeal/16384" bytes_per_second)"
raw_bps="$(field "${aead_json}" "BM_RawEvpAesGcmSeal/16384" bytes_per_second)"
[[ -n "${fnjail_bps}" && -n "${raw_bps}" ]] || die "cannot read the AEAD benchmark output"

echo "== crypto_channel_bench (same run)"
channel_json="$("${channel_bench}" \
  --benchmark_filter='BM_Channel(Seal|Open)/16384$|BM_ChannelRoundTrip1K' \
  --benchmark_min_time="${seconds}" --benchmark_format=json 2>/dev/null)" ||
  die "crypto_channel_bench failed"
seal_bps="$(field "${channel_json}" "BM_ChannelSeal/16384" bytes_per_second)"
open_bps="$(field "${channel_json}" "BM_ChannelOpen/16384" bytes_per_second)"
round_trip="$(field "${channel_json}" "BM_ChannelRoundTrip1K/real_time" real_time)"
[[ -n "${seal_bps}" && -n "${open_bps}" && -n "${round_trip}" ]] ||
  die "cannot read the channel benchmark output"

echo "== crypto_jwt_bench (same run)"
jwt_json="$("${jwt_bench}" --benchmark_min_time="${seconds}" --benchmark_format=json \
  2>/dev/null)" || die "crypto_jwt_bench failed"
jwt_rows=""
for i in 0 1 2 3; do
  alg=(RS256 ES256 EdDSA HS256)
  plain="$(field "${jwt_json}" "BM_JwtVerify/${i}" real_time)"
  cached="$(field "${jwt_json}" "BM_JwtVerifyCached/${i}" real_time)"
  [[ -n "${plain}" && -n "${cached}" ]] || die "cannot read the JWT benchmark output"
  jwt_rows+="${alg[$i]} ${plain} ${cached}"$'\n'
done

echo "== crypto_handshake_bench (same run)"
hs_json="$("${handshake_bench}" --benchmark_min_time="${seconds}" --benchmark_format=json \
  2>/dev/null)" || die "crypto_handshake_bench failed"
hs_mem="$(field "${hs_json}" "BM_HandshakeInMemory" cpu_time)"
hs_pair="$(field "${hs_json}" "BM_HandshakeSocketPair/real_time" real_time)"
hs_tcp="$(field "${hs_json}" "BM_HandshakeLoopbackTcp/real_time" real_time)"
[[ -n "${hs_mem}" && -n "${hs_pair}" && -n "${hs_tcp}" ]] ||
  die "cannot read the handshake benchmark output"

echo "== crypto_audit_bench (logs in ${bench_dir})"
audit_json="$(cd "${bench_dir}" && "${audit_bench}" \
  --benchmark_filter='BM_AuditAppend(GroupCommit|EveryRecordSync)' \
  --benchmark_min_time="${seconds}" --benchmark_format=json 2>/dev/null)" ||
  die "crypto_audit_bench failed"
group="$(field "${audit_json}" "BM_AuditAppendGroupCommit/real_time" items_per_second)"
every="$(field "${audit_json}" "BM_AuditAppendEveryRecordSync/real_time" items_per_second)"
[[ -n "${group}" && -n "${every}" ]] || die "cannot read the audit benchmark output"

awk -v o="${openssl_bps}" -v f="${fnjail_bps}" -v r="${raw_bps}" -v g="${group}" -v e="${every}" \
  -v cs="${seal_bps}" -v co="${open_bps}" -v rt="${round_trip}" -v hm="${hs_mem}" \
  -v hp="${hs_pair}" -v ht="${hs_tcp}" '
  BEGIN {
    printf "\n%-44s %12s %10s\n", "figure", "value", "ratio"
    printf "%-44s %9.2f GB/s\n", "openssl speed aes-256-gcm, 16 KiB", o / 1e9
    printf "%-44s %9.2f GB/s\n", "raw EVP aes-256-gcm in-process, 16 KiB", r / 1e9
    printf "%-44s %9.2f GB/s %9.2fx openssl speed (goal >= 0.8)\n", \
      "crypto::Aead seal, 16 KiB", f / 1e9, f / o
    printf "%-44s %12s %9.2fx raw EVP\n", "", "", f / r
    printf "%-44s %9.2f GB/s %9.2fx openssl speed (goal >= 0.8)\n", \
      "channel records sealed, 16 KiB", cs / 1e9, cs / o
    printf "%-44s %12s %9.2fx raw EVP\n", "", "", cs / r
    printf "%-44s %9.2f GB/s %9.2fx openssl speed (goal >= 0.8)\n", \
      "channel records opened, 16 KiB", co / 1e9, co / o
    printf "%-44s %9.0f /s  %9.2fx goal of 50k/s\n", "audit appends, group commit", g, g / 50000
    printf "%-44s %9.0f /s  (group commit: %.0fx)\n", "audit appends, fdatasync per record", e, g / e
    printf "%-44s %9.1f us\n", "channel round trip, 1 KiB, socketpair", rt
    printf "%-44s %9.0f us CPU (both ends)\n", "handshake, in memory", hm
    printf "%-44s %9.0f us\n", "handshake, socketpair", hp
    printf "%-44s %9.0f us\n", "handshake, loopback TCP", ht
  }'
awk '{ printf "%-44s %9.1f us, cached %.2f us (%.0fx)\n", "JWT verify " $1, $2, $3, $2 / $3 }' \
  <<<"${jwt_rows%$'\n'}"
