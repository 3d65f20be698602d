#!/usr/bin/env bash
# The gateway against nginx, same client, same run (issue 6, "Benchmark"):
#   nginx-direct   nginx `return 200`
#   nginx-proxy    nginx proxy_pass to a second nginx server block, upstream keep-alive
#   fnjail-apikey  POST /v1/functions/echo/invoke: API key, policy allow, audited,
#                  a warm Lua echo function in a jail
#   fnjail-jwt     the same with a JWT bearer token (EdDSA)
#   fnjail-deny    the deny path: a valid API key whose principal no policy allows (403)
# Each is run by wrk twice: `-t2 -c64` (throughput) and `-t1 -c1` (latency), both with
# --latency. Prints req/s, p50 and p99 of each, then the ratios of the issue's goals.
#
#   bench/gateway_compare.sh [FNJAIL_BINARY]
#
# Knobs: FNJAIL_BENCH_DURATION (wrk -d, default 10s); FNJAIL_BENCH_SHORT=1 for a CI smoke
# run (2s each); FNJAIL_BENCH_AUDIT=strict|batched|both (default both: each fnjail target
# against a gateway with that [audit] sync, so the audit's share of the cost shows). Needs
# nginx and wrk (scripts/install-deps.sh installs both); nginx runs as an ordinary
# foreground process on loopback ports with a config in a temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fnjail="${1:-${root}/build/release/cli/fnjail}"
duration="${FNJAIL_BENCH_DURATION:-10s}"
[[ "${FNJAIL_BENCH_SHORT:-0}" == 1 ]] && duration=2s
for tool in nginx wrk openssl curl; do
  command -v "${tool}" >/dev/null || [[ -x "/usr/sbin/${tool}" ]] ||
    { echo "gateway_compare: ${tool} is not installed" >&2; exit 2; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "${fnjail}" ]] || { echo "gateway_compare: no fnjail binary at ${fnjail}" >&2; exit 2; }

tmp=$(mktemp -d /tmp/fnjail-gateway-bench.XXXXXX)
# The jails' unprivileged user must reach the function folder below (state/ stays 0700).
chmod 755 "${tmp}"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "${p}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "${p}" 2>/dev/null || true; done
  rm -rf "${tmp}"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # URL: until it answers anything
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "gateway_compare: $1 never answered" >&2
  return 1
}

# ---- nginx: direct, proxy, and the proxy's upstream block.
direct_port=$(free_port); proxy_port=$(free_port); upstream_port=$(free_port)
mkdir -p "${tmp}/nginx"
cat > "${tmp}/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid ${tmp}/nginx/nginx.pid;
error_log ${tmp}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/nginx/body;
  proxy_temp_path ${tmp}/nginx/proxy;
  fastcgi_temp_path ${tmp}/nginx/fastcgi;
  uwsgi_temp_path ${tmp}/nginx/uwsgi;
  scgi_temp_path ${tmp}/nginx/scgi;
  keepalive_requests 1000000;
  upstream backend {
    server 127.0.0.1:${upstream_port};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${direct_port};
    location / { return 200 "{\"ok\":true}\n"; }
  }
  server {
    listen 127.0.0.1:${upstream_port};
    location / { return 200 "{\"ok\":true}\n"; }
  }
  server {
    listen 127.0.0.1:${proxy_port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
"${nginx_bin}" -p "${tmp}/nginx" -c "${tmp}/nginx/nginx.conf" 2>>"${tmp}/nginx/error.log" &
pids+=($!)

# ---- fnjail: a deployment with a warm Lua echo function, an API key allowed to invoke it,
# one no policy allows, and the quick start's demo JWT issuer (its published DEMO key).
d="${tmp}/fnjail"
mkdir -p "${d}/state" "${d}/functions" "${d}/policies" "${d}/jwt"
chmod 755 "${d}" "${d}/functions"
chmod 700 "${d}/state"
( umask 077
  head -c 32 /dev/urandom > "${d}/state/pepper"
  "${fnjail}" keys create --store "${d}/state/api-keys.json" --pepper "${d}/state/pepper" \
    --name bench > "${d}/bench-key"
  "${fnjail}" keys create --store "${d}/state/api-keys.json" --pepper "${d}/state/pepper" \
    --name nobody > "${d}/nobody-key"
  openssl genpkey -algorithm ed25519 -out "${d}/state/audit-key.pem" 2>/dev/null )
cp examples/quickstart/jwt/jwks.json "${d}/jwt/jwks.json"
cat > "${d}/functions/echo.toml" <<'EOF'
name = "echo"
runtime = "lua"
handler = "echo.lua"
timeout_ms = 2000
[pool]
min_idle = 4
prewarm = 4
max_concurrency = 64
EOF
cat > "${d}/functions/echo.lua" <<'EOF'
function handler(event, ctx)
  return event
end
EOF
cat > "${d}/policies/bench.toml" <<'EOF'
id = "bench"
attach = ["bench", "group:readers"]
[[statement]]
sid = "InvokeEcho"
effect = "allow"
action = "function:Invoke"
resource = "fn:echo"
EOF
start_fnjail() {  # SYNC_MODE: a `fnjail serve` with that [audit] sync; sets fnjail_port
  local mode=$1
  cat > "${d}/fnjail-${mode}.toml" <<EOF
[server]
listen = ["127.0.0.1:0"]
[limits]
max_connections = 4096
[auth.api_keys]
store = "state/api-keys.json"
pepper = "state/pepper"
[[auth.jwt]]
name = "demo-idp"
issuer = "https://idp.quickstart.example"
jwks = "jwt/jwks.json"
audience = "fnjail-quickstart"
max_lifetime_seconds = 3600
groups_claim = "groups"
[policies]
paths = ["policies"]
[functions]
folder = "functions"
[audit]
path = "state/audit-${mode}.log"
signing_key = "state/audit-key.pem"
sync = "${mode}"
[admission]
rate = 1000000000
burst = 1000000000
max_concurrency_per_function = 4096
EOF
  : > "${d}/serve-${mode}.log"  # exists before the poll below reads it
  "${fnjail}" serve --config "${d}/fnjail-${mode}.toml" --watch-interval-ms 0 \
    2>>"${d}/serve-${mode}.log" &
  local pid=$!
  pids+=("${pid}")
  fnjail_port=""
  for _ in $(seq 1 300); do
    fnjail_port=$(sed -n 's/.*"event":"serve.started".*"listen":"127.0.0.1:\([0-9]*\)".*/\1/p' \
                  "${d}/serve-${mode}.log" | head -n 1)
    [[ -n "${fnjail_port}" ]] && break
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "${fnjail_port}" ]]; then
    echo "gateway_compare: fnjail serve (${mode} audit) did not start:" >&2
    tail -n 20 "${d}/serve-${mode}.log" >&2
    exit 1
  fi
  wait_http "http://127.0.0.1:${fnjail_port}/healthz"
}
# Strict: every answer waits for its record's group commit. Batched: records are durable
# within [audit] max_batch_delay_ms, an operator's explicit choice; measured to show the
# audit's share of the cost.
audit_modes=(strict batched)
[[ "${FNJAIL_BENCH_AUDIT:-both}" != both ]] && audit_modes=("${FNJAIL_BENCH_AUDIT}")
declare -A ports
for mode in "${audit_modes[@]}"; do
  start_fnjail "${mode}"
  ports[${mode}]=${fnjail_port}
done
wait_http "http://127.0.0.1:${direct_port}/"
wait_http "http://127.0.0.1:${proxy_port}/"

bench_key=$(cat "${d}/bench-key")
nobody_key=$(cat "${d}/nobody-key")
token=$(sh examples/quickstart/mint-token.sh benchuser readers)
url_of() { echo "http://127.0.0.1:${ports[$1]}/v1/functions/echo/invoke"; }
# Each must answer as expected before it is timed.
check() {  # NAME EXPECTED_STATUS curl-args...
  local name=$1 want=$2; shift 2
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
  [[ "${got}" == "${want}" ]] ||
    { echo "gateway_compare: ${name} answered ${got}, not ${want}" >&2; tail -n 5 "${d}"/serve-*.log >&2; exit 1; }
}
body='{"n":1}'
check nginx-direct 200 "http://127.0.0.1:${direct_port}/"
check nginx-proxy 200 "http://127.0.0.1:${proxy_port}/"
for a in "${audit_modes[@]}"; do
  url=$(url_of "${a}")
  check "fnjail-apikey-${a}" 200 -X POST "${url}" -H "X-Api-Key: ${bench_key}" -H 'Content-Type: application/json' -d "${body}"
  check "fnjail-jwt-${a}" 200 -X POST "${url}" -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' -d "${body}"
  check "fnjail-deny-${a}" 403 -X POST "${url}" -H "X-Api-Key: ${nobody_key}" -H 'Content-Type: application/json' -d "${body}"
done

# wrk script: POST the JSON body with one extra header from the environment.
cat > "${tmp}/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"n":1}'
wrk.headers["Content-Type"] = "application/json"
local name, value = os.getenv("BENCH_HEADER_NAME"), os.getenv("BENCH_HEADER_VALUE")
if name and name ~= "" then wrk.headers[name] = value end
EOF

results="${tmp}/results.txt"
: > "${results}"
run() {  # NAME MODE URL [HEADER_NAME HEADER_VALUE]
  local name=$1 mode=$2 target=$3 hname=${4:-} hvalue=${5:-}
  local args
  if [[ "${mode}" == c64 ]]; then args=(-t2 -c64); else args=(-t1 -c1); fi
  local out
  out=$(BENCH_HEADER_NAME="${hname}" BENCH_HEADER_VALUE="${hvalue}" \
        wrk "${args[@]}" -d"${duration}" --latency -s "${tmp}/post.lua" "${target}")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"${out}")
  p50=$(awk '$1 == "50%" {print $2}' <<<"${out}")
  p99=$(awk '$1 == "99%" {print $2}' <<<"${out}")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"${out}")
  printf '%s %s %s %s %s %s\n' "${name}" "${mode}" "${rps}" "${p50}" "${p99}" "${non2xx:-0}" >> "${results}"
}
for mode in c64 c1; do
  run nginx-direct "${mode}" "http://127.0.0.1:${direct_port}/"
  run nginx-proxy "${mode}" "http://127.0.0.1:${proxy_port}/"
  for a in "${audit_modes[@]}"; do
    url=$(url_of "${a}")
    run "fnjail-apikey-${a}" "${mode}" "${url}" X-Api-Key "${bench_key}"
    run "fnjail-jwt-${a}" "${mode}" "${url}" Authorization "Bearer ${token}"
    run "fnjail-deny-${a}" "${mode}" "${url}" X-Api-Key "${nobody_key}"
  done
done

echo "gateway_compare: wrk ${duration} per run, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  fnjail audit: strict = each record durable before its response; batched = durable within"
echo "  max_batch_delay_ms (an operator's choice); nginx: access_log off"
/usr/bin/python3 - "${results}" <<'PY'
import sys

def ms(text):
    """wrk latency text (e.g. 812.00us, 1.23ms, 2.10s) in milliseconds."""
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float("nan")

rows = {}
for line in open(sys.argv[1]):
    name, mode, rps, p50, p99, non2xx = line.split()
    rows[(name, mode)] = (float(rps), ms(p50), ms(p99), int(non2xx))

for mode, title in (("c64", "-t2 -c64"), ("c1", "-t1 -c1")):
    print(f"\n  {title}")
    print(f"  {'target':<22} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>9}")
    for name in ["nginx-direct", "nginx-proxy"] + [
            f"fnjail-{kind}-{audit}" for audit in ("strict", "batched")
            for kind in ("apikey", "jwt", "deny")]:
        if (name, mode) in rows:
            rps, p50, p99, bad = rows[(name, mode)]
            print(f"  {name:<22} {rps:>10.0f} {p50:>9.3f} {p99:>9.3f} {bad:>9}")

def ratio(a, b, i=0):
    return rows[a][i] / rows[b][i] if rows[b][i] else float("nan")

print("\n  ratios (goal in brackets)")
for audit in ("strict", "batched"):
  if ("fnjail-apikey-" + audit, "c64") not in rows:
    continue
  for mode in ("c64", "c1"):
    k = lambda kind: (f"fnjail-{kind}-{audit}", mode)
    print(f"  [{audit} {mode}] apikey / nginx-proxy req/s: {ratio(k('apikey'), ('nginx-proxy', mode)):.2f} (>= 1.0)")
    print(f"  [{audit} {mode}] jwt    / nginx-proxy req/s: {ratio(k('jwt'), ('nginx-proxy', mode)):.2f}")
    print(f"  [{audit} {mode}] apikey p99 / nginx-proxy p99: {ratio(k('apikey'), ('nginx-proxy', mode), 2):.2f} (<= 1.0)")
    print(f"  [{audit} {mode}] deny   / nginx-direct req/s: {ratio(k('deny'), ('nginx-direct', mode)):.2f} (>= 1.0)")
PY
