#!/usr/bin/env bash
# The main job: installs what is missing, builds fnjail, and runs the example policies
# through it: check, the policy test suites, and decisions with explanations.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh release fnjail
fnjail=build/release/cli/fnjail

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step fnjail policy check examples/policies
"${fnjail}" policy check examples/policies

step fnjail policy test examples/policy-tests
"${fnjail}" policy test examples/policies/tests

step fnjail policy eval --policies examples/policies --requests examples/requests/requests.jsonl
"${fnjail}" policy eval --policies examples/policies --requests examples/requests/requests.jsonl

step fnjail policy eval --policies examples/policies --request examples/requests/bob-invokes-hello.json --explain
"${fnjail}" policy eval --policies examples/policies \
  --request examples/requests/bob-invokes-hello.json --explain | {
  if command -v python3 >/dev/null 2>&1; then python3 -m json.tool; else cat; fi
}
