# Sourced after tools/env.sh by `make run` and ./ledger: where the local system lives.
export LEDGER_DATA_DIR="${LEDGER_DATA_DIR:-$ROOT/data}"
export LEDGER_CHAIN_PORT="${LEDGER_CHAIN_PORT:-8645}"
export LEDGER_RPC_URL="${LEDGER_RPC_URL:-http://127.0.0.1:$LEDGER_CHAIN_PORT}"
export LEDGER_MANIFEST="${LEDGER_MANIFEST:-$LEDGER_DATA_DIR/deployment.json}"
export LEDGER_DATABASE_URL="${LEDGER_DATABASE_URL:-sqlite:///$LEDGER_DATA_DIR/ledger.db}"
# Sender and indexer in a process of their own beside the HTTP server (docs/gateway.md).
export LEDGER_SENDER_PROCESS="${LEDGER_SENDER_PROCESS:-true}"
