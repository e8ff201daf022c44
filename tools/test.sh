#!/usr/bin/env bash
# The whole suite: contract tests under brownie (its pytest plugin launches anvil), the
# gateway tests in their own virtualenv (real anvil, real database, real HTTP), the tests of
# tools/ (make run, make deploy, the chain's snapshots) with the same virtualenv, then Slither
# and the gateway's lint (tools/lint.sh: ruff, ruff format, mypy --strict).
# Ends with one line adding up the suites: "tests: N passed, N failed" (a failed lint counts
# as one failure).
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
mkdir -p build
status=0

suite() { # suite NAME PYTHON PATH: runs pytest, keeps its output in build/NAME.log
  local name="$1" python="$2" path="$3"
  echo "== $name"
  "$python" -m pytest "$path" -p no:cacheprovider -q 2>&1 | tee "build/$name.log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
}
count() { # count WORD: the sum of "N WORD" over the suites' pytest summary lines
  local log
  for log in build/contracts-tests.log build/gateway-tests.log build/tools-tests.log; do
    grep -E "^(=+ )?[0-9]+ [a-z]+.* in [0-9.]+s" "$log" 2>/dev/null | tail -n 1
  done | grep -oE "[0-9]+ $1" | awk '{s += $1} END {print s + 0}'
}

# every contract compiled from the sources as they are (tools/compile.sh: brownie's own
# incremental build can keep a stale ledger); the suites then find nothing to compile
echo "== compile"
if ! bash tools/compile.sh > build/compile.log 2>&1; then
  cat build/compile.log
  exit 1
fi
suite contracts-tests .venv/brownie/bin/python tests/contracts
suite gateway-tests .venv/api/bin/python tests/api
suite tools-tests .venv/api/bin/python tests/tools

echo "== static analysis (slither: no untriaged high or medium finding)"
if bash tools/slither.sh > build/slither.log 2>&1; then
  tail -n 1 build/slither.log
else
  cat build/slither.log
  status=1
fi

echo "== lint (ruff check, ruff format --check, mypy --strict)"
lint_failed=0
if bash tools/lint.sh > build/lint.log 2>&1; then
  tail -n 1 build/lint.log
else
  cat build/lint.log
  lint_failed=1
  status=1
fi

failed=$(( $(count failed) + $(count error) + lint_failed ))
echo "tests: $(count passed) passed, $failed failed"
exit $status
