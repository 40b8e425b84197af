#!/usr/bin/env bash
# Makes sure a git-ignored virtualenv holds pinned Python packages, the one way every
# script and the Makefile install their Python tools: creates DIR if it has no
# interpreter, and runs pip only when a pin is missing or installed at another
# version (asking importlib.metadata takes milliseconds, pip takes seconds even with
# nothing to do). Quiet when everything is as pinned.
#
# Usage: scripts/venv.sh DIR PIN... where each PIN is name==version (extras allowed,
# moto[server]==5.2.5) or -r FILE for the pins in a requirements file.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR PIN... | -r FILE" >&2; exit 2; }
venv=$1; shift

pins=()
while [ $# -gt 0 ]; do
  if [ "$1" = -r ]; then
    [ $# -ge 2 ] || { echo "venv: -r needs a file" >&2; exit 2; }
    while read -r line || [ -n "$line" ]; do
      line=${line%%#*}
      line=${line//[[:space:]]/}
      if [ -n "$line" ]; then pins+=("$line"); fi
    done <"$2"
    shift 2
  else
    pins+=("$1")
    shift
  fi
done

# Version of an installed distribution; empty when it is missing.
installed() {
  "$venv/bin/python" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "$1" 2>/dev/null
}

stale=()
for pin in "${pins[@]}"; do
  name=${pin%%==*}
  name=${name%%[*}
  if [ ! -x "$venv/bin/python" ] || [ "$(installed "$name")" != "${pin#*==}" ]; then
    stale+=("$pin")
  fi
done
[ ${#stale[@]} -eq 0 ] && exit 0

echo "venv $venv: installing ${stale[*]}" >&2
started=$SECONDS
[ -x "$venv/bin/python" ] || python3 -m venv --clear "$venv"
# Every pin at once, so pip resolves them together and keeps the others as pinned.
"$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
echo "venv $venv: installed in $((SECONDS - started)) s" >&2
