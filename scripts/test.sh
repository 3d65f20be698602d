#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then
#   1. release build (g++), every test, fuzz corpus replay included;
#   2. ASan+UBSan build (g++) of the tests, every test again;
#   3. libFuzzer build (clang++-14): a short smoke run of each harness;
#   4. a short smoke run of each benchmark;
# and ends with ctest's summary of the release run.
# Knobs: FNJAIL_FUZZ_SECONDS (default 20), FNJAIL_JOBS (default 2),
#        FNJAIL_SKIP_SANITIZERS=1 / FNJAIL_SKIP_FUZZ=1 to shorten a local run.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds="${FNJAIL_FUZZ_SECONDS:-20}"
jobs="${FNJAIL_JOBS:-2}"
logs=build/test-logs
start=$(date +%s)
phase() { printf '\n==== %s (%ss elapsed)\n' "$*" "$(($(date +%s) - start))"; }

bash scripts/install-deps.sh
mkdir -p "${logs}"
status=0

phase "release build"
bash scripts/build.sh release
phase "release tests"
if ! ctest --test-dir build/release -j "${jobs}" --output-on-failure --timeout 300 \
     >"${logs}/release.log" 2>&1; then
  status=1
fi
tail -n 40 "${logs}/release.log" | sed -n '/tests passed\|tests failed\|The following tests/,$p'

if [[ "${FNJAIL_SKIP_SANITIZERS:-0}" != 1 ]]; then
  phase "asan-ubsan build"
  bash scripts/build.sh asan-ubsan
  phase "asan-ubsan tests"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
       ctest --test-dir build/asan-ubsan -j "${jobs}" --output-on-failure --timeout 600 \
       >"${logs}/asan-ubsan.log" 2>&1; then
    status=1
  fi
  sed -n '/tests passed\|tests failed/,$p' "${logs}/asan-ubsan.log"
fi

if [[ "${FNJAIL_SKIP_FUZZ:-0}" != 1 ]]; then
  phase "fuzz build"
  bash scripts/build.sh fuzz
  phase "fuzz smoke (${fuzz_seconds}s per harness)"
  for harness in build/fuzz/fuzz/*_fuzzer; do
    [[ -x "${harness}" ]] || continue
    name=$(basename "${harness}")
    work=$(mktemp -d)
    cp -r "fuzz/corpus/${name}/." "${work}/" 2>/dev/null || true
    dict=()
    [[ -f "fuzz/dict/${name}.dict" ]] && dict=("-dict=fuzz/dict/${name}.dict")
    if "${harness}" "${work}" "${dict[@]}" -max_total_time="${fuzz_seconds}" \
         -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
         -artifact_prefix="${logs}/${name}-" >"${logs}/${name}.log" 2>&1; then
      echo "${name}: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' \
        "${logs}/${name}.log" | grep -o '[0-9]*$') runs)"
    else
      echo "${name}: FAILED, log and crasher in ${logs}/"
      tail -n 30 "${logs}/${name}.log"
      status=1
    fi
    rm -rf "${work}"
  done
fi

phase "benchmark smoke"
for bench in build/release/bench/*_bench; do
  [[ -x "${bench}" ]] || continue
  if "${bench}" --benchmark_min_time=0.01 >"${logs}/$(basename "${bench}").log" 2>&1; then
    echo "$(basename "${bench}"): ok"
  else
    echo "$(basename "${bench}"): FAILED"
    tail -n 20 "${logs}/$(basename "${bench}").log"
    status=1
  fi
done

phase "summary"
[[ "${FNJAIL_SKIP_SANITIZERS:-0}" != 1 ]] &&
  echo "asan-ubsan: $(grep -m1 'tests passed' "${logs}/asan-ubsan.log" || echo 'no summary')"
echo "ctest summary (release):"
sed -n '/tests passed\|tests failed/,$p' "${logs}/release.log"
exit "${status}"
