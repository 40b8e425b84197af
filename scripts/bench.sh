#!/usr/bin/env bash
# `make bench`: builds every binary with the bench-release profile (release without
# fat LTO, so a fresh clone builds in minutes), installs what the benchmark runs beside
# Airlock — the load tool oha (pinned, from the crate registry, built once per machine
# into the user's cache) and the Python peer's packages (pinned, into
# bench/python-peer/.venv/) — then runs airlock-bench with the AWS emulator started by
# scripts/with-moto.sh. Knobs: BENCH_* variables (see BENCHMARKS.md). Results go to
# bench/results/<date>.md and stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OHA_VERSION=1.16.0
started=$(date +%s)
# Prints how long the step since the last mark took, so the wall time of a fresh
# clone's run can be read part by part.
mark=$started
took() { local now; now=$(date +%s); echo "bench: $1 took $(( now - mark )) s" >&2; mark=$now; }

apt_install() {
  echo "bench: installing $1" >&2
  apt-get update -qq && apt-get install -y -qq "$1" >/dev/null
}
[ -x /usr/bin/time ] || apt_install time
python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv

# The Python side — the peer's packages (installed when a pin is missing or has
# changed) and moto for the emulator backend — waits on downloads and the disk, while
# oha's and the workspace's builds keep both cores busy: it installs beside them.
peer=bench/python-peer
install_python() {
  local began; began=$(date +%s)
  scripts/venv.sh "$peer/.venv" -r "$peer/requirements.txt"
  scripts/with-moto.sh true 2>/dev/null  # installs moto into .venv when missing
  echo "bench: the Python installs (beside the builds) took $(( $(date +%s) - began )) s" >&2
}
python_log=$(mktemp)
install_python >"$python_log" 2>&1 &
python_pid=$!

# The load tool. oha 1.16 does not build without a TLS backend; native-tls (the system's
# OpenSSL) compiles much faster than its default rustls/aws-lc. It is a tool of the
# machine, not of one clone (as `cargo install` keeps tools in ~/.cargo/bin), so it
# goes to a versioned folder in the user's cache and every clone reuses it; its own
# target folder keeps its dependencies apart from the workspace's.
oha_root="${XDG_CACHE_HOME:-$HOME/.cache}/airlock/oha-$OHA_VERSION"
if ! "$oha_root/bin/oha" --version 2>/dev/null | grep -q " $OHA_VERSION"; then
  dpkg -s libssl-dev pkg-config >/dev/null 2>&1 || { apt_install libssl-dev; apt_install pkg-config; }
  echo "bench: installing oha $OHA_VERSION into $oha_root (a few minutes, once per machine)" >&2
  CARGO_TARGET_DIR="$oha_root/build" cargo install --quiet --locked --no-default-features \
    --features native-tls "oha@$OHA_VERSION" --root "$oha_root"
  rm -rf "$oha_root/build"
fi
export BENCH_OHA="$oha_root/bin/oha"
took "checking (or installing) oha"

cargo build --profile bench-release --workspace --bins
took "building the workspace (bench-release)"
if ! wait "$python_pid"; then
  cat "$python_log" >&2
  echo "bench: the Python installs failed" >&2
  exit 1
fi
cat "$python_log" >&2
rm -f "$python_log"
took "waiting for the Python installs after the build"
built=$(date +%s)

export BENCH_BIN_DIR=target/bench-release
scripts/with-moto.sh target/bench-release/airlock-bench
echo "make bench: $(( $(date +%s) - started )) s wall ($(( built - started )) s of installs and build)"
