#!/usr/bin/env bash
# Starts the local chain of `make run` (anvil with its state kept in the data folder) if it
# is not running yet, waits for it, and deploys the contracts when the manifest names none
# on this chain. Prints the RPC URL. Used by tools/run.sh; safe to call again.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
DATA="${LEDGER_DATA_DIR:-$PWD/data}"
PORT="${LEDGER_CHAIN_PORT:-8645}"
RPC="http://127.0.0.1:$PORT"
mkdir -p "$DATA"

rpc_up() {
  curl -s -m 2 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$RPC" | grep -q result
}

if ! rpc_up; then
  # Interval mining (LEDGER_BLOCK_TIME seconds, default 1; 0 = mine each transaction at once).
  # Interval mining is also what keeps transactions sent concurrently from sitting unmined:
  # anvil's automine can leave a pending transaction behind until the next one arrives.
  BLOCK_TIME="${LEDGER_BLOCK_TIME:-1}"
  MINING=(--block-time "$BLOCK_TIME")
  [ "$BLOCK_TIME" = 0 ] && MINING=()
  nohup anvil --port "$PORT" --chain-id 31337 --state "$DATA/chain-state.json" --state-interval 5 \
    --gas-limit 60000000 --block-base-fee-per-gas 0 "${MINING[@]}" \
    --silent > "$DATA/anvil.log" 2>&1 &
  echo $! > "$DATA/anvil.pid"
  for _ in $(seq 1 100); do rpc_up && break; sleep 0.1; done
  rpc_up || { echo "anvil did not start, see $DATA/anvil.log" >&2; exit 1; }
fi

# brownie attaches to the running anvil through a development network of that port.
NETWORK=ledger-local
[ "$PORT" = 8645 ] || NETWORK="ledger-local-$PORT"
if ! grep -q "id: $NETWORK\$" "$HOME/.brownie/network-config.yaml" 2>/dev/null; then
  .venv/brownie/bin/brownie networks add Development "$NETWORK" cmd=anvil \
    host=http://127.0.0.1 port="$PORT" accounts=10 > /dev/null
fi
LEDGER_MANIFEST="${LEDGER_MANIFEST:-$DATA/deployment.json}" LEDGER_DEPLOY_IF_MISSING=1 \
  .venv/brownie/bin/brownie run scripts/deploy.py --network "$NETWORK" 2>&1 \
  | grep -E "^deploy:|Error|error" || true
test -s "${LEDGER_MANIFEST:-$DATA/deployment.json}" || { echo "deployment failed" >&2; exit 1; }
echo "$RPC"
