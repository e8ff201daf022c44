#!/usr/bin/env bash
# `make run`: the local chain (anvil, state kept in data/), the contracts (deployed once),
# the database (migrated), then the gateway in the foreground on 127.0.0.1:8000.
# Ctrl-C stops the gateway and the chain; the next `make run` resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
source tools/defaults.sh
mkdir -p "$LEDGER_DATA_DIR"

started_chain=0
[ -f "$LEDGER_DATA_DIR/anvil.pid" ] && kill -0 "$(cat "$LEDGER_DATA_DIR/anvil.pid")" 2>/dev/null || started_chain=1
bash tools/chain.sh > /dev/null
stop_chain() {
  if [ "$started_chain" = 1 ] && [ -f "$LEDGER_DATA_DIR/anvil.pid" ]; then
    kill "$(cat "$LEDGER_DATA_DIR/anvil.pid")" 2>/dev/null || true  # anvil writes its state on exit
    rm -f "$LEDGER_DATA_DIR/anvil.pid"
  fi
}
trap stop_chain EXIT

.venv/api/bin/ledger db upgrade > /dev/null
cat <<TXT

  chain     $LEDGER_RPC_URL (anvil, chain id 31337; state in $LEDGER_DATA_DIR)
  contracts $LEDGER_MANIFEST
  database  $LEDGER_DATABASE_URL
  gateway   http://${LEDGER_HOST:-127.0.0.1}:${LEDGER_PORT:-8000}  (OpenAPI: /docs)

  Add a brand (prints its API key once), in another terminal:
      ./ledger brand add "Acme Outdoor"
  then call the API with it, e.g.:
      curl -s localhost:8000/v1/health

TXT
.venv/api/bin/ledger serve
