#!/usr/bin/env bash
# Launch latency of /bin/true: fnjail (fully jailed) vs bwrap --unshare-all vs unshare vs
# plain exec, interleaved round by round in one run, printing medians and ratios.
#
#   bench/sandbox_compare.sh [FNJAIL_BINARY] [ROUNDS]
#
# Defaults: build/release/cli/fnjail, 200 rounds. Peers that are not installed are skipped
# (bwrap: scripts/install-deps.sh installs bubblewrap). Run as root to include the cgroup,
# as the gateway does; as an ordinary user fnjail runs with --rlimits-only.
set -euo pipefail
cd "$(dirname "$0")/.."
fnjail="${1:-build/release/cli/fnjail}"
rounds="${2:-200}"
[[ -x "$fnjail" ]] || { echo "sandbox_compare: no fnjail binary at $fnjail" >&2; exit 2; }

exec python3 - "$fnjail" "$rounds" <<'PY'
import os, shutil, statistics, subprocess, sys, time

fnjail, rounds = sys.argv[1], int(sys.argv[2])
extra = [] if os.geteuid() == 0 else ["--rlimits-only"]
peers = {
    "plain": ["/bin/true"],
    "fnjail": [fnjail, "run", *extra, "--", "/bin/true"],
}
if shutil.which("bwrap"):
    peers["bwrap"] = ["bwrap", "--unshare-all", "--die-with-parent",
                      "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
                      "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
                      "--symlink", "usr/sbin", "/sbin",
                      "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
                      "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"]
if shutil.which("unshare"):
    peers["unshare"] = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount",
                        "--net", "--ipc", "--uts", "--cgroup", "/bin/true"]

# Each must work before it is timed.
for name, argv in list(peers.items()):
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={})
    if r.returncode != 0:
        print(f"skip {name}: exit {r.returncode}: {r.stderr.decode().strip()[:200]}")
        del peers[name]

times = {name: [] for name in peers}
for _ in range(rounds):
    for name, argv in peers.items():
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={})
        times[name].append((time.perf_counter() - t0) * 1000)

med = {name: statistics.median(v) for name, v in times.items()}
print(f"{'launcher':10} {'median ms':>10} {'p90 ms':>8}   ({rounds} interleaved rounds)")
for name, v in times.items():
    v = sorted(v)
    print(f"{name:10} {med[name]:10.2f} {v[int(len(v) * 0.9)]:8.2f}")
if "fnjail" in med:
    for peer in ("bwrap", "unshare", "plain"):
        if peer in med:
            print(f"fnjail / {peer:8} = {med['fnjail'] / med[peer]:.2f}x")
    print("goals: fnjail / bwrap <= 0.50x, fnjail / plain <= 1.50x")
PY
