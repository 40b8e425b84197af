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
installed=$(node -p "require('$MODULES/node_modules/@cloud-copilot/iam-simulate/package.json').version" 2>/dev/null || true)
if [ "$installed" != "${PIN##*@}" ]; then
  echo "iam-simulate: installing $PIN into .iam-simulate/" >&2
  npm install --prefix "$MODULES" --no-save --no-audit --no-fund --loglevel=error "$PIN" >&2
fi
flock -u 9
IAM_SIMULATE_MODULES="$MODULES/node_modules" exec node "$root/scripts/iam-simulate.mjs"
