#!/usr/bin/env bash
# The quick start: installs what is missing, builds fnjail (release), prepares
# examples/quickstart (demo API keys, HMAC secret and audit signing key in its state/ folder,
# made on the first run), starts `fnjail serve --config examples/quickstart/fnjail.toml` on
# 127.0.0.1:8080, prints curl commands that work as printed, and stays in the foreground
# until Ctrl-C, which stops the gateway gracefully (requests drained, audit log sealed).
# Gateway logs (JSON lines) go to examples/quickstart/state/serve.log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/build.sh release fnjail fnjail-runtime
fnjail="${root}/build/release/cli/fnjail"
qs="${root}/examples/quickstart"
config="${qs}/fnjail.toml"
address=127.0.0.1:8080

FNJAIL="${fnjail}" sh "${qs}/setup.sh" >/dev/null

if (exec 3<>"/dev/tcp/127.0.0.1/8080") 2>/dev/null; then
  echo "run.sh: ${address} is already in use; stop what listens there first" >&2
  exit 1
fi

"${fnjail}" config check --config "${config}"

log="${qs}/state/serve.log"
"${fnjail}" serve --config "${config}" 2>>"${log}" &
server=$!
stop() {
  trap - INT TERM
  echo
  echo "Stopping the gateway (draining requests, sealing the audit log)..."
  kill -TERM "${server}" 2>/dev/null || true
  status=0
  wait "${server}" || status=$?
  echo "fnjail serve exited with status ${status}"
  echo "\$ ${fnjail} audit verify --config ${config}"
  "${fnjail}" audit verify --config "${config}" || true
  exit "${status}"
}
trap stop INT TERM

# Ready once /readyz answers (the functions' warm environments start first).
ready=0
for _ in $(seq 1 900); do
  if ! kill -0 "${server}" 2>/dev/null; then break; fi
  if curl -fsS -o /dev/null "http://${address}/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ "${ready}" != 1 ]]; then
  echo "run.sh: the gateway did not start; its log (${log}) ends with:" >&2
  tail -n 20 "${log}" >&2 || true
  kill -TERM "${server}" 2>/dev/null || true
  wait "${server}" 2>/dev/null || true
  exit 1
fi

demo_key="${qs}/demo-api-key"
intern_key="${qs}/intern-api-key"
url="http://${address}/v1/functions"
cat <<EOF

fnjail is serving ${config} on http://${address} (logs: ${log})

Allowed: principal demo (API key) invokes hello                                  -> 200
  curl -i -X POST ${url}/hello/invoke -H "X-Api-Key: \$(cat ${demo_key})" -H 'Content-Type: application/json' -d '{"name":"world"}'

Allowed: a JWT from the demo issuer, subject alice in group readers              -> 200
  curl -i -X POST ${url}/hello/invoke -H "Authorization: Bearer \$(${qs}/mint-token.sh alice readers)" -H 'Content-Type: application/json' -d '{"name":"alice"}'

Denied: principal intern (explicit deny in policies/deny-intern.toml)            -> 403
  curl -i -X POST ${url}/hello/invoke -H "X-Api-Key: \$(cat ${intern_key})" -H 'Content-Type: application/json' -d '{"name":"intern"}'

No credentials                                                                   -> 401
  curl -i -X POST ${url}/hello/invoke -H 'Content-Type: application/json' -d '{"name":"anyone"}'

Health and readiness (no credentials needed)
  curl -i http://${address}/healthz
  curl -i http://${address}/readyz

The audit log (one record per request above), verified against its signed checkpoints:
  ${fnjail} audit verify --config ${config}

Press Ctrl-C to stop.
EOF

status=0
wait "${server}" || status=$?
trap - INT TERM
echo "fnjail serve exited with status ${status}; its log: ${log}" >&2
exit "${status}"
