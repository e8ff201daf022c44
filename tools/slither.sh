#!/usr/bin/env bash
# Slither static analysis of the alliance contracts, offline.
#
# Compiler: the pinned npm solc behind .toolchain/solcx/solc-v<version> (tools/solc.js), fed a
# solc standard-json input with brownie-config.yaml's settings through crytic-compile's
# "solc-json" platform. solc-select, a slither dependency, is never called: nothing downloads.
# Findings: slither.config.json (node_modules and contracts/test filtered out; fail on medium).
# Exit status: non-zero when a High or Medium finding is not triaged by a
# `// slither-disable-next-line <detector> <why>` comment directly above the flagged line
# (or when the compilation fails). Extra arguments go to slither (e.g. --checklist).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3}"
VENV=.venv/slither
OUT=build/slither
SOURCES=(
  contracts/AllianceLedger.sol
  contracts/AllianceLedgerLens.sol
  contracts/SettlementVault.sol
  contracts/MembershipBadge.sol
  contracts/AllianceBadges.sol
  contracts/AlliancePolls.sol
  contracts/EnterpriseAccounts.sol
  contracts/AllianceAuctions.sol
)

# Compiler and OpenZeppelin come from tools/setup.sh (npm); run it only when they are missing.
SOLC_VERSION="$(node -p "require('./package.json').dependencies.solc")"
SOLC="$ROOT/.toolchain/solcx/solc-v$SOLC_VERSION"
if [ ! -x "$SOLC" ] || [ ! -d node_modules/solc ] || [ ! -d node_modules/@openzeppelin/contracts ]; then
  bash tools/setup.sh
fi

# The virtualenv, rebuilt when requirements/slither.txt changes (same stamps as tools/setup.sh).
mkdir -p .toolchain
sum="$(sha256sum requirements/slither.txt | cut -c1-16)"
if [ ! -x "$VENV/bin/slither" ] || [ "$(cat .toolchain/slither.stamp 2>/dev/null)" != "$sum" ]; then
  echo "slither: virtualenv $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements/slither.txt
  "$VENV/bin/pip" check
  echo "$sum" > .toolchain/slither.stamp
fi

# The standard-json input: the contracts with brownie-config.yaml's compiler settings.
mkdir -p "$OUT"
"$VENV/bin/python" - "$OUT/input.json" "${SOURCES[@]}" <<'PY'
import json, re, sys

out, sources = sys.argv[1], sys.argv[2:]
text = open("brownie-config.yaml", encoding="utf8").read()

def one(key, pattern):
    found = re.findall(rf"^\s+{key}:\s*({pattern})\s*(?:#.*)?$", text, re.M)
    if len(found) != 1:
        sys.exit(f"slither.sh: expected one `{key}` in brownie-config.yaml, found {found}")
    return found[0]

remap_block = re.search(r"^\s+remappings:\s*\n((?:\s+-\s*.*\n?)+)", text, re.M)
remappings = re.findall(r"-\s*[\"']?([^\"'\s]+)[\"']?", remap_block.group(1)) if remap_block else []
settings = {
    "evmVersion": one("evm_version", r"\w+"),
    "viaIR": one("viaIR", r"true|false") == "true",
    "optimizer": {"enabled": one("enabled", r"true|false") == "true", "runs": int(one("runs", r"\d+"))},
    "remappings": remappings,
}
json.dump(
    {"language": "Solidity", "sources": {s: {"urls": [s]} for s in sources}, "settings": settings},
    open(out, "w", encoding="utf8"),
    indent=1,
)
print("slither: solc", json.dumps(settings))
PY

status=0
rm -f "$OUT/results.json" # slither refuses to overwrite it
"$VENV/bin/slither" "$OUT/input.json" --compile-force-framework solc-json --solc "$SOLC" \
  --json "$OUT/results.json" "$@" || status=$?

# Counts per impact of the findings left after filters and disable comments.
if [ -s "$OUT/results.json" ]; then
  "$VENV/bin/python" - "$OUT/results.json" <<'PY'
import collections, json, sys

results = json.load(open(sys.argv[1], encoding="utf8")).get("results", {}).get("detectors", [])
counts = collections.Counter(r["impact"] for r in results)
order = ["High", "Medium", "Low", "Informational", "Optimization"]
print("slither: findings reported (after filters and slither-disable comments): " + ", ".join(f"{k} {counts.get(k, 0)}" for k in order))
PY
fi
if [ "$status" -ne 0 ]; then
  echo "slither: FAILED (a High/Medium finding without a slither-disable comment, or a compile error)" >&2
fi
exit "$status"
