#!/usr/bin/env bash
# What `make test` installs besides its Rust builds — the command-line tools (`make
# tools`), moto, the infra linters, schemathesis, Chromium and playwright-core — each
# by the script that uses it (`--install-only`), so every pin stays where it is used.
# .ci/run starts it beside the lints' build: these installs wait on downloads and
# unpacking while the build keeps both cores busy, and `make test` then finds every
# pin in place (on a fresh machine they took about five minutes one after another).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
make --no-print-directory tools
scripts/with-moto.sh --install-only
scripts/lint-infra.sh --install-only
scripts/schemathesis.sh --install-only
scripts/console-test.sh --install-only
echo "install-test-tools: done in $((SECONDS - started)) s"
