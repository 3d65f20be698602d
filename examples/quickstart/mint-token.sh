#!/bin/sh
# Mints a JWT for the quick start's demo issuer, signed with its published DEMO key
# (jwt/demo-issuer-private-key.DEMO.pem; EdDSA over Ed25519), using only openssl.
#
#   mint-token.sh [SUBJECT [GROUP...]]      default: alice readers
#
# Prints the token on stdout. It carries iss, sub, aud, iat, exp (10 minutes) and a
# `groups` claim; the gateway maps it to principal `demo-idp:SUBJECT` in those groups
# (docs/gateway-config.md, "Principals").
set -eu

here=$(cd "$(dirname "$0")" && pwd)
key="$here/jwt/demo-issuer-private-key.DEMO.pem"
subject=${1:-alice}
[ "$#" -gt 0 ] && shift
[ "$#" -eq 0 ] && set -- readers

case "$subject" in
  *[!A-Za-z0-9._@-]*|'') echo "mint-token.sh: subject may hold letters, digits, . _ @ - only" >&2; exit 2 ;;
esac
groups=""
for g in "$@"; do
  case "$g" in
    *[!A-Za-z0-9._@-]*|'') echo "mint-token.sh: group may hold letters, digits, . _ @ - only" >&2; exit 2 ;;
  esac
  groups="$groups${groups:+,}\"$g\""
done

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
header='{"alg":"EdDSA","typ":"JWT","kid":"quickstart-demo-1"}'
claims="{\"iss\":\"https://idp.quickstart.example\",\"sub\":\"$subject\",\"aud\":\"fnjail-quickstart\",\"iat\":$now,\"exp\":$((now + 600)),\"groups\":[$groups]}"

signing_input="$(printf '%s' "$header" | b64url).$(printf '%s' "$claims" | b64url)"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
printf '%s' "$signing_input" > "$tmp"
signature=$(openssl pkeyutl -sign -rawin -inkey "$key" -in "$tmp" | b64url)
printf '%s.%s\n' "$signing_input" "$signature"
