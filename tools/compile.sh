#!/usr/bin/env bash
# Compiles the contracts with brownie (solc 0.8.30 from npm, tools/solc.js), every one of them
# whenever any source under contracts/ changed since the last compile here.
#
# brownie's own incremental build recompiles a changed file's contracts and the contracts it
# records as their dependents, and it misses a contract that uses a changed file only through
# a user-defined value type and its library (contracts/types/*.sol): an edit of
# PendingWord.sol left build/contracts/AllianceLedger.json as it was, so `make gas`, `make
# run` and the contract tests ran the old ledger (tests/tools/test_compile.py). The hash of
# every source is kept in build/sources.sha256; a different one compiles with --all.
# Arguments go to `brownie compile`.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
stamp=build/sources.sha256
sources=$(find contracts -name '*.sol' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
# brownie reads its per-user network list as it starts: under the lock's shared side, as
# tools/brownie_run.py (tools/brownie_network.sh changes it under the exclusive side)
mkdir -p "$HOME/.brownie"
lock="$HOME/.brownie/network-config.lock"
if [ -s build/contracts/AllianceLedger.json ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sources" ]; then
  flock -s "$lock" .venv/brownie/bin/brownie compile "$@"
else
  flock -s "$lock" .venv/brownie/bin/brownie compile --all "$@"
fi
mkdir -p build
echo "$sources" > "$stamp"
