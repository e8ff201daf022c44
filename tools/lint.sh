#!/usr/bin/env bash
# Static checks of the gateway (what `make lint` runs, and `make test` counts): ruff's rules
# (pyproject: E, W, F, I, B, UP, SIM, C90), ruff's formatting, and mypy --strict on ledger_api.
# Covers ledger_api, ledger_client, tests/api and the tools that run in the api virtualenv with
# all three, and the brownie side (scripts/, tests/contracts) with ruff's rules and format.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/api/bin
paths=(ledger_api ledger_client tests/api tools/*.py scripts tests/contracts tests/tools)
status=0
"$PY/ruff" check "${paths[@]}" || status=1
"$PY/ruff" format --check "${paths[@]}" || status=1
"$PY/mypy" --strict ledger_api ledger_client || status=1
exit $status
