#!/usr/bin/env bash
# Runs scripts/iam-simulate.mjs (IAM policy evaluation) on the simulations given on
# stdin. Installs @cloud-copilot/iam-simulate (pinned; from npm into the git-ignored
# .iam-simulate/) when it is missing or at another version; needs node and npm
# (`make tools` installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PIN=@cloud-copilot/iam-simulate@0.1.173
MODULES="$root/.iam-simulate"

# Tests run in parallel: one installs while the others wait for it, then all find it.
mkdir -p "$MODULES"
exec 9>"$MODULES/.install.lock"
flock 9
# A marker written after a whole install: a folder an interrupted install left half
# filled is installed again.
marker="$MODULES/.installed-${PIN##*@}"
if [ ! -f "$marker" ]; then
  echo "iam-simulate: installing $PIN into .iam-simulate/" >&2
  rm -rf "$MODULES/node_modules" "$MODULES"/.installed-*
  npm install --prefix "$MODULES" --no-save --no-audit --no-fund --loglevel=error "$PIN" >&2
  touch "$marker"
fi
flock -u 9
IAM_SIMULATE_MODULES="$MODULES/node_modules" exec node "$root/scripts/iam-simulate.mjs"
