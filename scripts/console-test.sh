#!/usr/bin/env bash
# The console page in a real browser: Debian's Chromium, headless, driven by
# playwright-core (pinned; from npm into the git-ignored .playwright/, no browser
# download), against a freshly started stack (scripts/with-stack.sh stops it by PID).
# Installs what is missing; if it cannot, it fails and says why — it never skips.
# Usage: scripts/console-test.sh STACK_BINARY
#        scripts/console-test.sh --install-only  (the browser and driver alone, as
#        .ci/run does early)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:?usage: scripts/console-test.sh STACK_BINARY | --install-only}
PLAYWRIGHT_PIN=playwright-core@1.65.1
MODULES=.playwright
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
fail() { echo "console test: FAILED: $*" >&2; exit 1; }

if [ ! -x "$CHROMIUM" ]; then
  [ "$(id -u)" = 0 ] || fail "$CHROMIUM is missing and installing it (apt-get install chromium) needs root"
  echo "console test: installing Debian's chromium"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || fail "apt-get could not install chromium"
  [ -x "$CHROMIUM" ] || fail "apt-get installed chromium but $CHROMIUM is not there"
fi
command -v node >/dev/null && command -v npm >/dev/null || {
  [ "$(id -u)" = 0 ] || fail "node and npm are missing and installing them needs root"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
    || fail "apt-get could not install nodejs and npm"
}
installed=$(node -p "require('./$MODULES/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$installed" != "${PLAYWRIGHT_PIN#*@}" ]; then
  echo "console test: installing $PLAYWRIGHT_PIN into $MODULES/"
  mkdir -p "$MODULES"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$MODULES" --no-save --no-audit --no-fund \
    --loglevel=error "$PLAYWRIGHT_PIN" >/dev/null || fail "npm could not install $PLAYWRIGHT_PIN"
fi
# Debian's wrapper script prints a harmless shell warning on some machines.
"$CHROMIUM" --version 2>/dev/null || fail "$CHROMIUM does not run"
[ "$binary" = --install-only ] && exit 0
# Files past 8 MiB go in parts of 5 MiB, so the test's 12 MiB file takes three.
AIRLOCK_STACK_ARGS="--multipart-threshold 8388608 --part-size 5242880" CHROMIUM=$CHROMIUM \
  scripts/with-stack.sh "$binary" node scripts/console-test.cjs
