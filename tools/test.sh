#!/usr/bin/env bash
# The whole suite: contract tests under brownie (its pytest plugin launches anvil),
# then the gateway tests in their own virtualenv (real anvil, real database, real HTTP).
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
status=0
echo "== contract tests (brownie, anvil)"
.venv/brownie/bin/python -m pytest tests/contracts -p no:cacheprovider -q || status=1
if [ -d tests/api ]; then
  echo "== gateway tests (FastAPI, anvil, SQLite/PostgreSQL)"
  .venv/api/bin/python -m pytest tests/api -p no:cacheprovider -q || status=1
fi
echo "== static analysis (slither: no untriaged high or medium finding)"
bash tools/slither.sh > build/slither.log 2>&1 && tail -n 3 build/slither.log || { cat build/slither.log; status=1; }
exit $status
