# Airlock. `make run` starts the whole pipeline locally; `make test` builds and runs
# every test. Both install what they need by themselves.

FUNCTIONS := ingest publish api sweep
PORT ?= 8080
DATA ?= .airlock
CARGO ?= cargo
STACK_BIN := target/debug/airlock-stack

.PHONY: bench run test test-rust test-rust-inner test-walkthrough lint-infra lint fmt lambda-tools build deploy deploy-function clean-data tools

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

## Benchmark: cold start, init work, ingest throughput and memory, api latency, 1,000
## uploads end to end and sizes, beside a hello-world function, a Python peer and
## sha256sum, in one run (release build; installs oha and the peer's packages). Results
## to bench/results/<date>.md and stdout; BENCHMARKS.md explains every figure.
bench:
	scripts/bench.sh

## The deployment tools (cargo-lambda, zig for the arm64 cross build, SAM CLI) live
## in .venv-infra, which scripts/lint-infra.sh creates; installed on first use.
TOOLS := .venv-infra
CARGO_LAMBDA_PIN := cargo-lambda==1.9.2
ZIG_PIN := ziglang==0.17.1
WITH_TOOLS := PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH"
FN ?=

lambda-tools:
	@[ -x $(TOOLS)/bin/sam ] || scripts/lint-infra.sh >/dev/null
	@$(TOOLS)/bin/python -c 'import importlib.metadata as m, sys; sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))' $(CARGO_LAMBDA_PIN) $(ZIG_PIN) 2>/dev/null \
		|| $(TOOLS)/bin/pip install --quiet --disable-pip-version-check $(CARGO_LAMBDA_PIN) $(ZIG_PIN)

## Lambda artifacts: one arm64 bootstrap per function under target/lambda/<binary>/
## (release profile: fat LTO, stripped; about ten minutes cold on two cores).
build: lambda-tools
	$(WITH_TOOLS) $(CARGO) lambda build --release --arm64 $(foreach f,$(FUNCTIONS),--bin airlock-$(f))
	@for f in $(FUNCTIONS); do ls -l target/lambda/airlock-$$f/bootstrap; done

## Deploy the stack: `sam deploy --guided` the first time (it writes samconfig.toml),
## plain `sam deploy` after.
deploy: lambda-tools lint-infra
	$(WITH_TOOLS) sam build --template-file infra/template.yaml --build-in-source
	@if [ -f samconfig.toml ]; then $(WITH_TOOLS) sam deploy; else $(WITH_TOOLS) sam deploy --guided; fi

## Update one function alone: make deploy-function FN=ingest (CloudFormation changes
## only what differs).
deploy-function: lambda-tools
	@case " $(FUNCTIONS) " in *" $(FN) "*) ;; *) echo "FN must be one of: $(FUNCTIONS)" >&2; exit 2;; esac
	$(WITH_TOOLS) sam build --template-file infra/template.yaml --build-in-source \
		$$(echo $(FN) | sed 's/^./\U&/')Function
	$(WITH_TOOLS) sam deploy

## The command-line tools the tests call, installed if missing.
tools:
	@command -v jq >/dev/null || { echo "installing jq"; apt-get update -qq && apt-get install -y -qq jq; }
	@command -v curl >/dev/null || { echo "installing curl"; apt-get update -qq && apt-get install -y -qq curl; }
	@python3 -m venv --help >/dev/null 2>&1 || { echo "installing python3-venv"; apt-get update -qq && apt-get install -y -qq python3-venv; }

clean-data:
	rm -rf $(DATA)
