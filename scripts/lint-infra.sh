#!/usr/bin/env bash
# Every check of infra/template.yaml; any finding fails the script. Installs its own
# pinned tools into git-ignored virtualenvs at the repository root, only when they
# are missing or their pins changed. Needs no AWS credentials and, once the tools
# are installed, no network. See "Checks" in infra/README.md.
#
# Usage: scripts/lint-infra.sh [TEMPLATE]   (default infra/template.yaml)
#        scripts/lint-infra.sh --install-only  (the tools alone, as .ci/run does early)
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPLATE=${1:-infra/template.yaml}
# Two virtualenvs: checkov pins shared dependencies (boto3 among them) to versions
# that conflict with aws-sam-cli's.
INFRA_VENV=.venv-infra
INFRA_PINS=(aws-sam-cli==1.170.0 cfn-lint==1.58.0 cfn-lint-serverless==0.3.6)
CHECKOV_VENV=.venv-checkov
CHECKOV_PINS=(checkov==3.3.30)

# The tools want a region (cfn-lint's region-specific rules, the SAM translator's
# partition); none of them calls AWS. No telemetry, no update checks.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export SAM_CLI_TELEMETRY=0 CKV_SKIP_PACKAGE_UPDATE_CHECK=true

start=$SECONDS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Version of an installed distribution; empty when it is missing.
version() { "$1/bin/python" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "$2"; }

failed=0
# Runs one check; prints one line, and the tool's output only when it fails.
check() {
  local label=$1; shift
  if "$@" >"$tmp/check.log" 2>&1; then
    # checkov's counts, where there are some.
    echo "ok    $label$(sed -n '/^Passed checks/s/^/: /p' "$tmp/check.log")"
  else
    cat "$tmp/check.log"
    echo "FAIL  $label"
    failed=$((failed + 1))
  fi
}

# The SAM transform, offline, as CloudFormation would run it at deployment
# (scripts/sam-transform.py, which the deployed-template test uses too).
sam_transform() {
  "$INFRA_VENV/bin/python" scripts/sam-transform.py "$1" "$2"
}

# cfn-lint skips the SAM transform and checks SAM resources against their own
# schema, so it never sees what SAM generates from event properties (a DynamoDB
# BatchSize of 20000 passes on the source); the serverless rules likewise judge
# the generated event source mappings, permissions and rules.
lint_transformed() {
  sam_transform "$TEMPLATE" "$tmp/template.json" || return
  # Findings named by their path (Resources/<generated resource>/...): line numbers
  # would point into a file deleted on exit.
  "$INFRA_VENV/bin/cfn-lint" "$tmp/template.json" -a cfn_lint_serverless.rules -f json |
    "$INFRA_VENV/bin/python" -c 'import json, sys
findings = json.load(sys.stdin)
for f in findings:
    print(f["Rule"]["Id"], "/".join(map(str, f["Location"]["Path"])) + ":", f["Message"])
sys.exit(bool(findings))'
}

scripts/venv.sh "$INFRA_VENV" "${INFRA_PINS[@]}"
scripts/venv.sh "$CHECKOV_VENV" "${CHECKOV_PINS[@]}"
[ "${1:-}" = --install-only ] && exit 0

cfn_lint="cfn-lint $(version "$INFRA_VENV" cfn-lint)"
check "sam validate --lint (SAM CLI $(version "$INFRA_VENV" aws-sam-cli), $cfn_lint)" \
  "$INFRA_VENV/bin/sam" validate --lint -t "$TEMPLATE"
check "cfn-lint + serverless rules on the SAM transform ($cfn_lint, cfn-lint-serverless $(version "$INFRA_VENV" cfn-lint-serverless), aws-sam-translator $(version "$INFRA_VENV" aws-sam-translator))" \
  lint_transformed
# --skip-download: no rule metadata from the vendor's platform (needs no account,
# works offline); --quiet: failed checks only.
check "checkov $(version "$CHECKOV_VENV" checkov)" \
  "$CHECKOV_VENV/bin/checkov" -f "$TEMPLATE" --framework cloudformation --compact --quiet --skip-download

echo "lint-infra: 3 checks, $failed failed, $((SECONDS - start))s"
[ "$failed" -eq 0 ]
