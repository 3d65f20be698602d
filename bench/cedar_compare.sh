#!/usr/bin/env bash
# Runs the same generated policy workload through @cedar-policy/cedar-wasm and through
# fnjail, in the same run, and prints each engine's time per decision, their ratio and the
# number of requests on which they disagree.
#
# usage: bench/cedar_compare.sh [--statements N] [--requests N] [--iterations N]
#                               [--build-dir DIR] [--keep]
#
# The workload (policies written once, rendered as fnjail TOML and as Cedar) comes from
# policy_workload_bench, which is built with scripts/build.sh when missing. cedar-wasm is
# installed from npm into a temporary folder (version: $CEDAR_WASM_VERSION, default below),
# removed on exit. Needs node and npm, and the npm registry reachable. Exits 3 when the
# engines disagree on any decision (the timings then compare different work).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
statements=100
requests=1000
iterations=20000
build_dir="${root}/build/release"
keep=0
cedar_version="${CEDAR_WASM_VERSION:-4.13.0}"

die() {
  echo "cedar_compare: error: $*" >&2
  exit 1
}

while (($# > 0)); do
  case "$1" in
    --statements) statements="${2:?--statements needs a value}"; shift 2 ;;
    --requests) requests="${2:?--requests needs a value}"; shift 2 ;;
    --iterations) iterations="${2:?--iterations needs a value}"; shift 2 ;;
    --build-dir) build_dir="${2:?--build-dir needs a value}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \`$1\` (see --help)" ;;
  esac
done
for n in "${statements}" "${requests}" "${iterations}"; do
  [[ "${n}" =~ ^[1-9][0-9]*$ ]] || die "\`${n}\` is not a positive count"
done

command -v node >/dev/null || die "node is not installed (Debian: apt-get install nodejs)"
command -v npm >/dev/null || die "npm is not installed (Debian: apt-get install npm)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fnjail-cedar.XXXXXX")"
cleanup() {
  if ((keep)); then
    echo "cedar_compare: kept ${tmp}" >&2
  else
    rm -rf "${tmp}"
  fi
}
trap cleanup EXIT

# 1. cedar-wasm, from npm, into the temporary folder.
if ! timeout 60 npm view --fetch-retries=0 --fetch-timeout=20000 \
  "@cedar-policy/cedar-wasm@${cedar_version}" version >/dev/null 2>&1; then
  die "cannot reach the npm registry, or it has no @cedar-policy/cedar-wasm@${cedar_version} \
(check network and proxy settings; \`npm view @cedar-policy/cedar-wasm versions\` lists versions)"
fi
npm install --silent --no-audit --no-fund --prefix "${tmp}/npm" \
  "@cedar-policy/cedar-wasm@${cedar_version}" >&2 ||
  die "npm install @cedar-policy/cedar-wasm@${cedar_version} failed"
cedar_js="${tmp}/npm/node_modules/@cedar-policy/cedar-wasm/nodejs/cedar_wasm.js"
[[ -f "${cedar_js}" ]] || die "cedar-wasm ${cedar_version} has no nodejs build at ${cedar_js}"

# 2. The fnjail benchmark program that writes the workload and times fnjail on it.
bench_bin="${build_dir}/bench/policy_workload_bench"
if [[ ! -x "${bench_bin}" ]]; then
  [[ "${build_dir}" == "${root}/build/release" ]] ||
    die "${bench_bin} not found (build the policy_workload_bench target)"
  bash "${root}/scripts/build.sh" release policy_workload_bench
fi

# 3. One workload, both languages.
work="${tmp}/workload"
"${bench_bin}" --emit="${work}" --statements="${statements}" --requests="${requests}"

# 4. Both engines, one after the other, in this run.
node "${root}/bench/cedar_compare.js" "${cedar_js}" "${work}" "${iterations}" >"${tmp}/cedar.txt"
"${bench_bin}" --workload="${work}" --benchmark_out="${tmp}/fnjail.json" \
  --benchmark_out_format=json --benchmark_format=console --benchmark_min_time=2 >&2

cedar_value() {
  local line
  line="$(grep -m1 "^$1=" "${tmp}/cedar.txt")" || die "cedar-wasm run did not report $1"
  echo "${line#*=}"
}
fnjail_value() {
  node -e '
    const run = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).benchmarks[0];
    const value = process.argv[2] === "real_time" ? run.real_time : run[process.argv[2]];
    if (value === undefined) process.exit(1);
    console.log(Number(value).toFixed(3));' "${tmp}/fnjail.json" "$1" ||
    die "fnjail run did not report $1"
}

cedar_us="$(cedar_value preparsed_mean_us)"
cedar_p50="$(cedar_value preparsed_p50_us)"
cedar_p99="$(cedar_value preparsed_p99_us)"
cedar_stateless_us="$(cedar_value stateless_mean_us)"
cedar_stateless_p50="$(cedar_value stateless_p50_us)"
cedar_errors="$(cedar_value errors)"
fnjail_us="$(fnjail_value real_time)"
fnjail_p50="$(fnjail_value p50_us)"
fnjail_p99="$(fnjail_value p99_us)"

total="$(wc -l <"${work}/fnjail/decisions.txt")"
[[ "${total}" -eq "$(wc -l <"${work}/cedar/decisions.txt")" ]] ||
  die "the engines decided different numbers of requests"
mismatches="$(paste -d' ' "${work}/fnjail/decisions.txt" "${work}/cedar/decisions.txt" |
  awk '$1 != $2 { n++ } END { print n + 0 }')"
allowed="$(grep -c '^allow$' "${work}/fnjail/decisions.txt" || true)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }

# Medians are the headline: this kind of machine is shared, and a mean absorbs every
# preemption of the process; the means are printed beside them.
echo "workload: ${statements} statements, ${total} requests (${allowed} allowed by fnjail)," \
  "cedar-wasm $(cedar_value cedar_version), node $(node --version)"
echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cedar-wasm: ${cedar_p50} us/decision (median; mean ${cedar_us}, p99 ${cedar_p99};" \
  "statefulIsAuthorized on a preparsed policy set)"
echo "cedar-wasm stateless: ${cedar_stateless_p50} us/decision (median; mean" \
  "${cedar_stateless_us}; isAuthorized, parses the policies on every call)"
echo "fnjail: ${fnjail_p50} us/decision (median; mean ${fnjail_us}, p99 ${fnjail_p99})"
echo "ratio: $(ratio "${cedar_p50}" "${fnjail_p50}") (cedar-wasm / fnjail, medians; means:" \
  "$(ratio "${cedar_us}" "${fnjail_us}"); stateless cedar-wasm:" \
  "$(ratio "${cedar_stateless_p50}" "${fnjail_p50}"))"
echo "mismatches: ${mismatches} of ${total} decisions (cedar-wasm decisions with evaluation" \
  "errors: ${cedar_errors})"
if ((mismatches > 0)); then
  exit 3
fi
