# Airlock. `make run` starts the whole pipeline locally; `make test` builds and runs
# every test. Both install what they need by themselves.

FUNCTIONS := ingest publish api sweep
PORT ?= 8080
DATA ?= .airlock
CARGO ?= cargo
STACK_BIN := target/debug/airlock-stack

.PHONY: bench install-cli run test test-rust test-rust-inner test-walkthrough test-console test-schemathesis lint-infra lint fmt lambda-tools build deploy deploy-function clean-data tools fuzz fuzz-tools load

## Start the local stack on 127.0.0.1:$(PORT), data under $(DATA)/ (git-ignored).
## Built with the workspace's features (`--workspace`), which are the test build's:
## `cargo run -p airlock-stack` would unify them differently and, right after
## `make test`, recompile most of the tree; this starts at once.
run:
	$(CARGO) build --workspace --bin airlock-stack
	exec $(STACK_BIN) --data-dir $(DATA) --port $(PORT)

## The `airlock` command into ~/.cargo/bin (see the README's walk-through).
install-cli:
	$(CARGO) install --locked --path crates/cli

## Every test: unit, handler (AWS event fixtures), adapters on both backends (the
## AWS ones against moto, which scripts/with-moto.sh installs into .venv, starts on
## a free 127.0.0.1 port and stops by PID), end to end, the crash and load tests
## (crates/stack/tests/promise), the fuzz corpus replayed, the README walk-through,
## schemathesis and the console page in headless Chromium, each against a freshly
## started stack binary. The Rust tests run first, so a newcomer's first failure is one
## in the code, not in the infra linters' tool installs.
test: tools test-rust lint-infra test-walkthrough test-schemathesis test-console

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

## The console page (GET /) in Debian's Chromium, headless, driven by playwright-core
## against a fresh stack: upload a clean file and a disguised executable, see CLEAN
## and REJECTED with the reason, download the clean one. Installs chromium (apt) and
## playwright-core (npm, pinned, into .playwright/) if missing, and fails, saying why,
## if it cannot. Screenshot: target/artifacts/console.png.
test-console:
	$(CARGO) test --workspace --no-run --quiet
	scripts/console-test.sh $(STACK_BIN)

## schemathesis (pinned, into .venv-schemathesis) against functions/api/openapi.json
## and a fresh stack: no 5xx, every answer as the document says.
test-schemathesis:
	$(CARGO) test --workspace --no-run --quiet
	scripts/with-stack.sh $(STACK_BIN) scripts/schemathesis.sh

## Each cargo-fuzz target for FUZZ_SECONDS (default 60), zero crashes. Stable Rust:
## sanitizers off (-s none), RUSTC_BOOTSTRAP for the flags cargo-fuzz passes. New
## inputs go to fuzz/target/new-corpus; `make fuzz FUZZ_MERGE=1` merges those that add
## coverage into the corpus kept in the repo (replayed by `make test`).
FUZZ_TARGETS := ingest_event publish_event sweep_event api_request api_cursor
FUZZ_SECONDS ?= 60
CARGO_FUZZ_PIN := 0.13.1
CARGO_FUZZ := $(CURDIR)/.tools/bin/cargo-fuzz
FUZZ := cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO_FUZZ)

fuzz-tools:
	@$(CARGO_FUZZ) --version 2>/dev/null | grep -q ' $(CARGO_FUZZ_PIN)$$' \
		|| $(CARGO) install --locked --root .tools cargo-fuzz --version $(CARGO_FUZZ_PIN)

fuzz: fuzz-tools
	$(FUZZ) build -s none
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/target/new-corpus/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		if ! ( $(FUZZ) run -s none $$t target/new-corpus/$$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 ) >fuzz/target/$$t.log 2>&1; then \
			tail -40 fuzz/target/$$t.log; echo "fuzz: $$t failed (fuzz/artifacts/$$t)"; exit 1; \
		fi; \
		grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' fuzz/target/$$t.log; \
		if [ -n "$(FUZZ_MERGE)" ]; then \
			( $(FUZZ) run -s none $$t corpus/$$t target/new-corpus/$$t -- -merge=1 ) 2>&1 | tail -1; \
		fi; \
	done

## The load test at full size: 10,000 uploads from 32 clients (make test runs 1,000).
load:
	AIRLOCK_LOAD_UPLOADS=10000 $(CARGO) test -p airlock-stack --test promise load:: -- --nocapture

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
## uploads end to end, the `airlock` command beside the bench's own client (1,000 small
## files and one 2 GiB file) and sizes, beside a hello-world function, a Python peer and
## sha256sum, in one run (bench-release build: release without fat LTO; installs oha
## once per machine and the peer's packages). Results to bench/results/<date>.md and
## stdout; BENCHMARKS.md explains every figure. `make build` first to have the deployed
## arm64 sizes measured too.
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
	@scripts/venv.sh $(TOOLS) $(CARGO_LAMBDA_PIN) $(ZIG_PIN)

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
	@command -v tmux >/dev/null || { echo "installing tmux (the CLI's terminal test)"; apt-get update -qq && apt-get install -y -qq tmux; }
	@python3 -m venv --help >/dev/null 2>&1 || { echo "installing python3-venv"; apt-get update -qq && apt-get install -y -qq python3-venv; }
	@command -v npm >/dev/null || { echo "installing nodejs and npm (the IAM policy simulator)"; apt-get update -qq && apt-get install -y -qq nodejs npm; }

clean-data:
	rm -rf $(DATA)
