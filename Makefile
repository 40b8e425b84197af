# Airlock. `make run` starts the whole pipeline locally; `make test` builds and runs
# every test. Both install what they need by themselves.

FUNCTIONS := ingest publish api sweep
PORT ?= 8080
DATA ?= .airlock
CARGO ?= cargo
STACK_BIN := target/debug/airlock-stack

.PHONY: run test test-rust test-rust-inner test-walkthrough lint-infra lint fmt build clean-data tools

## Start the local stack on 127.0.0.1:$(PORT), data under $(DATA)/ (git-ignored).
run:
	$(CARGO) run -p airlock-stack --bin airlock-stack -- --data-dir $(DATA) --port $(PORT)

## Every test: unit, handler (AWS event fixtures), adapters on both backends (the
## AWS ones against moto, which scripts/with-moto.sh installs into .venv, starts on
## a free 127.0.0.1 port and stops by PID), end to end, and the README walk-through
## against a freshly started stack binary.
test: tools lint-infra test-rust test-walkthrough

test-rust:
	scripts/with-moto.sh $(MAKE) --no-print-directory test-rust-inner

test-rust-inner:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi
	$(CARGO) test --workspace --doc

# Built as the tests build it (same features), so nothing is compiled twice.
test-walkthrough:
	$(CARGO) test --workspace --no-run --quiet
	scripts/with-stack.sh $(STACK_BIN) scripts/walkthrough.sh

## Every check of infra/template.yaml (sam validate --lint, cfn-lint with the
## serverless rules on the transformed template, checkov); installs its own tools.
lint-infra:
	scripts/lint-infra.sh

## Formatting and clippy, as CI runs them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Release binaries of the four functions for this machine (the Lambda arm64 build
## with cargo-lambda comes with the deployment issue).
build:
	$(CARGO) build --release --workspace $(foreach f,$(FUNCTIONS),--bin airlock-$(f))
	@for f in $(FUNCTIONS); do ls -l target/release/airlock-$$f; done

## The command-line tools the tests call, installed if missing.
tools:
	@command -v jq >/dev/null || { echo "installing jq"; apt-get update -qq && apt-get install -y -qq jq; }
	@command -v curl >/dev/null || { echo "installing curl"; apt-get update -qq && apt-get install -y -qq curl; }
	@python3 -m venv --help >/dev/null 2>&1 || { echo "installing python3-venv"; apt-get update -qq && apt-get install -y -qq python3-venv; }

clean-data:
	rm -rf $(DATA)
