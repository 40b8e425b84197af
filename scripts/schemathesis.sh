#!/usr/bin/env bash
# A schema-driven attack on the running stack: schemathesis (pinned, installed into
# .venv-schemathesis on first use) generates requests from functions/api/openapi.json,
# valid and invalid, and checks every answer: no 5xx, and status, content type,
# headers and body as the document says. Needs AIRLOCK and TOKEN (scripts/with-stack.sh
# sets both). SCHEMATHESIS_EXAMPLES (default 50) sets the examples per operation,
# SCHEMATHESIS_SEED (default 6) the seed.
# `scripts/schemathesis.sh --install-only` installs it and stops (.ci/run does so early).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-schemathesis"
VERSION=4.32.5

"$root/scripts/venv.sh" "$venv" "schemathesis==$VERSION"
[ "${1:-}" = --install-only ] && exit 0
: "${AIRLOCK:?set AIRLOCK to the stack URL}" "${TOKEN:?set TOKEN to a dev token}"

report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT
# Fixed seed so a failure replays; the stack is local, so no rate limit is needed.
"$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$root/functions/api/openapi.json" \
  --url "$AIRLOCK" \
  --workers 1 \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" \
  --seed "${SCHEMATHESIS_SEED:-6}" \
  --no-color \
  --report junit --report-dir "$report" \
  2>&1 | tee "$report/out.txt"
