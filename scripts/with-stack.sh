#!/usr/bin/env bash
# Starts the stack binary on a free 127.0.0.1 port with a throw-away data folder, runs
# the given command with AIRLOCK and TOKEN set, then stops the stack by its PID — also
# when the command fails. Usage: scripts/with-stack.sh BINARY COMMAND...
# AIRLOCK_STACK_ARGS, when set, adds flags to the stack's command line.
set -euo pipefail
binary=$1; shift
data=$(mktemp -d)
out="$data/stdout"
# shellcheck disable=SC2086 # the extra flags are meant to split into words
"$binary" --data-dir "$data/airlock" --port 0 ${AIRLOCK_STACK_ARGS:-} >"$out" 2>"$data/stderr" &
pid=$!
# shellcheck source=scripts/stop-on-exit.sh
. "$(dirname "$0")/stop-on-exit.sh"
stop_on_exit "$pid" "$data"
for _ in $(seq 1 100); do
  grep -q '^eyJ' "$out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/stderr" >&2; echo "stack exited early" >&2; exit 1; }
  sleep 0.1
done
AIRLOCK=$(sed -n 's/^Airlock local stack listening on //p' "$out")
TOKEN=$(grep '^eyJ' "$out")
[ -n "$AIRLOCK" ] && [ -n "$TOKEN" ] || { echo "stack did not report its URL and token" >&2; exit 1; }
export AIRLOCK TOKEN
"$@"
