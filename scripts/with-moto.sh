#!/usr/bin/env bash
# Runs a command with an AWS emulator (moto's server) on a free 127.0.0.1 port:
# installs moto into the project's .venv if it is missing, starts it, exports the
# endpoint and test credentials, runs the command, and stops the emulator by its PID
# afterwards — also when the command fails. Usage: scripts/with-moto.sh COMMAND...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
MOTO_VERSION=5.2.5


"$root/scripts/venv.sh" "$venv" "moto[server]==$MOTO_VERSION"

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
scratch=$(mktemp -d)
log="$scratch/moto.log"
# The request recorder (used by the least-privilege test) writes here, not into the repo.
# moto-server.py is moto's server with one named fix (see the file).
MOTO_RECORDER_FILEPATH="$scratch/recording" "$venv/bin/python" "$root/scripts/moto-server.py" \
  -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
# shellcheck source=scripts/stop-on-exit.sh
. "$root/scripts/stop-on-exit.sh"
stop_on_exit "$pid" "$scratch"

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "with-moto: moto exited" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null || { echo "with-moto: moto did not answer" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AIRLOCK_TEST_EMULATOR="moto $MOTO_VERSION"
echo "with-moto: moto $MOTO_VERSION on $AWS_ENDPOINT_URL (pid $pid)" >&2
"$@"
