#!/usr/bin/env bash
# Cold start of a Lua function vs a bwrap launch of /bin/true, measured in the same run.
#
#   bench/runtime_compare.sh [BUILD_DIR] [REPETITIONS]
#
# Defaults: build/release, 5 repetitions. Two views, each printing medians and the ratio
# (goal: cold Lua <= 0.50x bwrap):
#   in-process  runtime_invoke_bench's BM_ColdInvoke/0 (a new Lua environment: jail,
#               runtime, handler load, first invocation) against BM_BwrapTrue, repetitions
#               randomly interleaved;
#   command     `fnjail invoke --runtime lua` of examples/functions/lua-hello against
#               `bwrap ... /bin/true`, both as whole commands, interleaved round by round.
# Needs runtime_invoke_bench, fnjail and fnjail-runtime built in BUILD_DIR, and bwrap
# (scripts/install-deps.sh). This machine is a shared VM: read the ratio, not the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
reps="${2:-5}"
bench="$build/bench/runtime_invoke_bench"
fnjail="$build/cli/fnjail"
[[ -x "$bench" ]] || { echo "runtime_compare: no $bench (build runtime_invoke_bench)" >&2; exit 2; }
command -v bwrap >/dev/null || { echo "runtime_compare: bwrap is not installed" >&2; exit 2; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
json="$(mktemp)"
trap 'rm -f "$json"' EXIT
"$bench" --benchmark_filter='^BM_(ColdInvoke/0|BwrapTrue)' \
  --benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=0.3 --benchmark_format=json >"$json" 2>/dev/null

exec python3 - "$json" "$fnjail" "$((reps * 20))" <<'PY'
import json, os, shutil, statistics, subprocess, sys, time

path, fnjail, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = json.load(open(path))["benchmarks"]
def ms(b):
    unit = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * unit
times = {}
for b in runs:
    if b.get("run_type") != "iteration" or "error_occurred" in b:
        continue
    name = "cold lua" if b["name"].startswith("BM_ColdInvoke") else "bwrap /bin/true"
    times.setdefault(name, []).append(ms(b))
errors = [b["name"] + ": " + b["error_message"] for b in runs if b.get("error_occurred")]
for e in sorted(set(errors)):
    print("skip", e)
print(f"in-process   {'median ms':>10}   ({len(next(iter(times.values()), []))} repetitions)")
for name, v in times.items():
    print(f"{name:16} {statistics.median(v):8.2f}")
if len(times) == 2:
    r = statistics.median(times["cold lua"]) / statistics.median(times["bwrap /bin/true"])
    print(f"cold lua / bwrap = {r:.2f}x   (goal <= 0.50x)")

# Whole commands, interleaved.
hello = "examples/functions/lua-hello/handler.lua"
bwrap = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
         "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
         "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
         "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
         "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"]
peers = {"fnjail invoke lua": [fnjail, "invoke", "--runtime", "lua", "--handler", hello],
         "bwrap /bin/true": bwrap}
for name, argv in list(peers.items()):
    if not os.access(argv[0], os.X_OK) and not shutil.which(argv[0]):
        print(f"skip {name}: {argv[0]} not found"); del peers[name]; continue
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        print(f"skip {name}: exit {r.returncode}: {r.stderr.decode().strip()[:200]}")
        del peers[name]
cmd = {name: [] for name in peers}
for _ in range(rounds):
    for name, argv in peers.items():
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        cmd[name].append((time.perf_counter() - t0) * 1000)
if cmd:
    print(f"command      {'median ms':>10}   ({rounds} interleaved rounds)")
    for name, v in cmd.items():
        print(f"{name:18} {statistics.median(v):6.2f}")
    if len(cmd) == 2:
        r = statistics.median(cmd["fnjail invoke lua"]) / statistics.median(cmd["bwrap /bin/true"])
        print(f"fnjail invoke lua / bwrap = {r:.2f}x")
PY
