#!/bin/sh
# Prepares the quick start (examples/quickstart/fnjail.toml) and prints how to call it.
#
# On its first run it makes the secrets the configuration names, in state/ (mode 0700,
# files 0600; never committed): the API key pepper and store with two keys, `demo`
# (written to demo-api-key) and `intern` (intern-api-key), an HMAC secret for key id
# `ci`, and the audit log's Ed25519 signing key and its public half. Later runs keep
# them and only restore their modes. Needs the fnjail binary: $FNJAIL, else
# build/release/cli/fnjail of this checkout, else `fnjail` on PATH.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
state="$here/state"

fnjail=${FNJAIL:-}
if [ -z "$fnjail" ]; then
  if [ -x "$here/../../build/release/cli/fnjail" ]; then
    fnjail="$(cd "$here/../../build/release/cli" && pwd)/fnjail"
  elif command -v fnjail >/dev/null 2>&1; then
    fnjail=$(command -v fnjail)
  else
    echo "setup.sh: no fnjail binary: build it (scripts/run.sh) or set FNJAIL" >&2
    exit 2
  fi
fi

umask 077
mkdir -p "$state"
chmod 700 "$state"

[ -s "$state/pepper" ] || head -c 32 /dev/urandom > "$state/pepper"

# The store and the keys it holds belong together: make them together.
if [ ! -s "$state/api-keys.json" ] || [ ! -s "$here/demo-api-key" ] ||
   [ ! -s "$here/intern-api-key" ]; then
  rm -f "$state/api-keys.json" "$here/demo-api-key" "$here/intern-api-key"
  "$fnjail" keys create --store "$state/api-keys.json" --pepper "$state/pepper" \
    --name demo > "$here/demo-api-key.new"
  "$fnjail" keys create --store "$state/api-keys.json" --pepper "$state/pepper" \
    --name intern > "$here/intern-api-key.new"
  mv "$here/demo-api-key.new" "$here/demo-api-key"
  mv "$here/intern-api-key.new" "$here/intern-api-key"
fi

[ -s "$state/hmac-ci.key" ] || head -c 32 /dev/urandom > "$state/hmac-ci.key"

# A log is bound to the key it was created with: never pair an old log with a new key.
if [ ! -s "$state/audit-signing-key.pem" ]; then
  if [ -e "$state/audit.log" ]; then
    mv "$state/audit.log" "$state/audit.log.orphaned-$(date +%s)"
  fi
  openssl genpkey -algorithm ed25519 -out "$state/audit-signing-key.pem" 2>/dev/null
  rm -f "$state/audit-public-key.pem"
fi
[ -s "$state/audit-public-key.pem" ] ||
  openssl pkey -in "$state/audit-signing-key.pem" -pubout -out "$state/audit-public-key.pem"

# Git does not keep modes: restore them on every run.
chmod 600 "$state"/pepper "$state"/api-keys.json "$state"/hmac-ci.key \
  "$state"/audit-signing-key.pem "$here/demo-api-key" "$here/intern-api-key"
chmod 644 "$state/audit-public-key.pem"
chmod go-w "$here/fnjail.toml" "$here/jwt/jwks.json" "$here"/policies/* "$here"/functions/*

cat <<MSG
Quick start ready in $here
  demo API key (principal demo):     $(cat "$here/demo-api-key")
  intern API key (principal intern): in $here/intern-api-key

Start the gateway:
  $fnjail serve --config $here/fnjail.toml

Then call it:
  curl -s -X POST http://127.0.0.1:8080/v1/functions/hello/invoke -H "X-Api-Key: \$(cat $here/demo-api-key)" -H 'Content-Type: application/json' -d '{"name":"world"}'
  curl -s -X POST http://127.0.0.1:8080/v1/functions/wordcount/invoke -H "X-Api-Key: \$(cat $here/demo-api-key)" -H 'Content-Type: application/json' -d '{"text":"to be or not to be"}'
  curl -s -X POST http://127.0.0.1:8080/v1/functions/hello/invoke -H "Authorization: Bearer \$($here/mint-token.sh alice readers)" -H 'Content-Type: application/json' -d '{"name":"alice"}'
  curl -s -X POST http://127.0.0.1:8080/v1/functions/hello/invoke -H "X-Api-Key: \$(cat $here/intern-api-key)" -H 'Content-Type: application/json' -d '{}'    # 403: explicitly denied
  $fnjail audit verify --config $here/fnjail.toml
MSG
