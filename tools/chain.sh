#!/usr/bin/env bash
# Starts the local chain of `make run` (anvil, its state kept in the data folder) if it
# is not running yet, waits for it, and deploys the contracts when the manifest names none
# on this chain. Prints the RPC URL. Used by tools/run.sh; safe to call again. Each step that
# may take a while (start the chain, compile, deploy) shows its progress and time on stderr
# (tools/steps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
source tools/steps.sh
DATA="${LEDGER_DATA_DIR:-$PWD/data}"
PORT="${LEDGER_CHAIN_PORT:-8645}"
RPC="http://127.0.0.1:$PORT"
mkdir -p "$DATA"

rpc_up() {
  curl -s -m 2 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$RPC" | grep -q result
}

start_chain() {
  # Interval mining (LEDGER_BLOCK_TIME seconds, default 1; 0 = mine each transaction at once).
  # Interval mining is also what keeps transactions sent concurrently from sitting unmined:
  # anvil's automine can leave a pending transaction behind until the next one arrives.
  local BLOCK_TIME="${LEDGER_BLOCK_TIME:-1}"
  local MINING=(--block-time "$BLOCK_TIME")
  # any spelling of zero (0.0, 00): anvil refuses a --block-time of 0
  awk -v v="$BLOCK_TIME" 'BEGIN { exit !(v + 0 == 0) }' && MINING=()
  # anvil under tools/chain_supervisor.py: state snapshots written atomically every
  # LEDGER_CHAIN_SNAPSHOT_S seconds (default 5), LEDGER_CHAIN_SNAPSHOTS generations kept
  # (default 3) in $DATA/chain-state/, the newest readable one loaded on start.
  nohup "${PYTHON:-python3}" tools/chain_supervisor.py --data "$DATA" --port "$PORT" \
    --interval "${LEDGER_CHAIN_SNAPSHOT_S:-5}" --keep "${LEDGER_CHAIN_SNAPSHOTS:-3}" \
    --anvil "$(command -v anvil)" -- --chain-id 31337 --gas-limit 60000000 \
    --block-base-fee-per-gas 0 "${MINING[@]}" --silent > "$DATA/chain.log" 2>&1 &
  local pid=$!
  echo "$pid" > "$DATA/chain.pid"
  echo "$PORT" > "$DATA/chain.port"
  # loading a large state takes a while: wait as long as the supervisor runs (10 minutes at most)
  for _ in $(seq 1 6000); do rpc_up && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rpc_up || { echo "the chain did not start:" >&2; cat "$DATA/chain.log" >&2; return 1; }
}

ours() {  # the node on the port is the one this data folder's supervisor runs
  [ -f "$DATA/chain.pid" ] && kill -0 "$(cat "$DATA/chain.pid")" 2>/dev/null
}
if ! rpc_up && ours; then
  running_port="$(cat "$DATA/chain.port" 2>/dev/null || true)"
  if [ "$running_port" = "$PORT" ]; then
    # its supervisor is restarting anvil on this port: wait for it rather than start another
    for _ in $(seq 1 600); do rpc_up && break; sleep 0.1; done
  else
    # this data folder's chain runs on another port: a second one would load the same
    # snapshots and both would write them (a trial's second `make run` changed the port only)
    echo "chain: the chain of $DATA already runs (on port ${running_port:-unknown}): set" \
      "LEDGER_CHAIN_PORT to it, or LEDGER_DATA_DIR (with LEDGER_PORT and LEDGER_CHAIN_PORT)" \
      "for a second system" >&2
    exit 1
  fi
fi
if ! rpc_up; then
  step "start the chain (anvil on port $PORT)" start_chain
elif ! ours; then
  # a node this data folder did not start (another `make run`'s): deploying onto it would
  # mix two systems on one chain
  echo "chain: port $PORT already serves a chain that $DATA did not start:" \
    "stop it, or set LEDGER_DATA_DIR, LEDGER_CHAIN_PORT and LEDGER_PORT for a second system" >&2
  exit 1
fi

# brownie attaches to the running anvil through a development network of that port.
source tools/brownie_network.sh
NETWORK=alliance-local
[ "$PORT" = 8645 ] || NETWORK="alliance-local-$PORT"
brownie_network dev "$NETWORK" "$PORT"
MANIFEST="${LEDGER_MANIFEST:-$DATA/deployment.json}"

compile() {
  if ! bash tools/compile.sh > "$DATA/compile.log" 2>&1; then
    echo "compilation failed (log: $DATA/compile.log):" >&2
    cat "$DATA/compile.log" >&2
    return 1
  fi
}
# the first run compiles every contract (a minute or more); later runs only when a source changed
built=build/contracts/AllianceLedger.json
if [ ! -s "$built" ] || [ -n "$(find contracts -name '*.sol' -newer "$built" | head -1)" ]; then
  step "compile the contracts (solc 0.8.30)" compile
fi

deploy() {
  # The deploy's own output goes to the log; on failure it is shown whole (the real error).
  if ! LEDGER_MANIFEST="$MANIFEST" .venv/brownie/bin/python tools/brownie_run.py \
      scripts/deploy.py --network "$NETWORK" > "$DATA/deploy.log" 2>&1 || ! test -s "$MANIFEST"; then
    echo "deployment failed (log: $DATA/deploy.log):" >&2
    cat "$DATA/deploy.log" >&2
    return 1
  fi
}
step "deploy the contracts (or find them deployed)" deploy
grep -E "^deploy:" "$DATA/deploy.log" >&2 || true
echo "$RPC"
