#!/usr/bin/env bash
# Runs a command with an AWS emulator (moto's server) on a free 127.0.0.1 port:
# installs moto into the project's .venv if it is missing, starts it, exports the
# endpoint and test credentials, runs the command, and stops the emulator by its PID
# afterwards — also when the command fails. Usage: scripts/with-moto.sh COMMAND...
#
# A second moto server, on its own port, is for the test that enforces IAM
# (crates/lambda-emulator/tests/enforced_permissions.rs): it starts with
# INITIAL_NO_AUTH_ACTION_COUNT=inf (no authorization, for the set-up), and the test
# turns authorization on through /moto-api/reset-auth once its set-up is done, so
# it cannot be shared. Its endpoint is AIRLOCK_TEST_IAM_ENDPOINT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
MOTO_VERSION=5.2.5
# The SAM transform for the deployed-template tests (scripts/deploy-template.py);
# the version aws-sam-cli's pin in scripts/lint-infra.sh brings.
SAM_TRANSLATOR_VERSION=1.110.0

"$root/scripts/venv.sh" "$venv" "moto[server]==$MOTO_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
# `scripts/with-moto.sh --install-only`: the packages alone, no server (.ci/run, early).
[ "${1:-}" = --install-only ] && exit 0

free_port() {
  "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

scratch=$(mktemp -d)
# shellcheck source=scripts/stop-on-exit.sh
. "$root/scripts/stop-on-exit.sh"

# start_moto NAME PORT [VAR=VALUE...]: starts one server (moto-server.py is moto's
# server with one named fix, see the file), sets $started_pid.
start_moto() {
  local name=$1 port=$2; shift 2
  # The request recorder (used by the least-privilege test) writes here, not into the repo.
  env MOTO_RECORDER_FILEPATH="$scratch/recording-$name" "$@" \
    "$venv/bin/python" "$root/scripts/moto-server.py" -H 127.0.0.1 -p "$port" >"$scratch/$name.log" 2>&1 &
  started_pid=$!
}

wait_for_moto() {
  local name=$1 port=$2 pid=$3
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$scratch/$name.log" >&2; echo "with-moto: moto ($name) exited" >&2; exit 1; }
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null || { echo "with-moto: moto ($name) did not answer" >&2; exit 1; }
}

port=$(free_port)
start_moto moto "$port"
pid=$started_pid
stop_on_exit "$pid" "$scratch"
iam_port=$(free_port)
start_moto moto-iam "$iam_port" INITIAL_NO_AUTH_ACTION_COUNT=inf
iam_pid=$started_pid
stop_also "$iam_pid"
wait_for_moto moto "$port" "$pid"
wait_for_moto moto-iam "$iam_port" "$iam_pid"

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AIRLOCK_TEST_IAM_ENDPOINT="http://127.0.0.1:$iam_port"
export AIRLOCK_TEST_PYTHON="$venv/bin/python"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AIRLOCK_TEST_EMULATOR="moto $MOTO_VERSION"
echo "with-moto: moto $MOTO_VERSION on $AWS_ENDPOINT_URL (pid $pid), IAM-enforcing on $AIRLOCK_TEST_IAM_ENDPOINT (pid $iam_pid)" >&2
"$@"
