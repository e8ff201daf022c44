# Sourced after tools/env.sh by `make run` and ./ledger: where the local system lives.
# The project folder's `.env` counts before these defaults, as it does for the gateway's
# `Settings` (its LEDGER_* lines; a variable of the environment still wins): a new user's
# trial put LEDGER_DATABASE_URL there and these defaults, exported first, hid it.
# The settings read names in any letter case (`ledger_database_url` is LEDGER_DATABASE_URL):
# so do these defaults, or `make run` and a bare `ledger serve` used two databases (a trial).
for name in $(compgen -e); do
  upper=${name^^}
  if [[ $upper == LEDGER_* && $name != "$upper" ]] && ! declare -p "$upper" > /dev/null 2>&1; then
    export "$upper=${!name}"
  fi
done
if [ -f .env ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([Ll][Ee][Dd][Gg][Ee][Rr]_[A-Za-z0-9_]+)[[:space:]]*=[[:space:]]*(.*)$ ]] ||
      continue
    name=${BASH_REMATCH[2]^^} value=${BASH_REMATCH[3]}
    declare -p "$name" > /dev/null 2>&1 && continue
    case "$value" in
      \"*\") value=${value:1:${#value}-2} ;;
      \'*\') value=${value:1:${#value}-2} ;;
      *) value=$(sed -E 's/[[:space:]]+#.*$//; s/[[:space:]]+$//' <<< "$value") ;;
    esac
    export "$name=$value"
  done < .env
  unset line value
fi
unset name upper
export LEDGER_DATA_DIR="${LEDGER_DATA_DIR:-$ROOT/data}"
export LEDGER_CHAIN_PORT="${LEDGER_CHAIN_PORT:-8645}"
export LEDGER_RPC_URL="${LEDGER_RPC_URL:-http://127.0.0.1:$LEDGER_CHAIN_PORT}"
export LEDGER_MANIFEST="${LEDGER_MANIFEST:-$LEDGER_DATA_DIR/deployment.json}"
export LEDGER_DATABASE_URL="${LEDGER_DATABASE_URL:-sqlite:///$LEDGER_DATA_DIR/ledger.db}"
# Sender and indexer in a process of their own beside the HTTP server (docs/gateway.md).
export LEDGER_SENDER_PROCESS="${LEDGER_SENDER_PROCESS:-true}"
