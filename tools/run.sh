#!/usr/bin/env bash
# `make run`: the settings (checked), the database (migrated), the local chain (anvil under
# tools/chain_supervisor.py, state snapshots kept in data/), the contracts (deployed once), then
# the gateway on LEDGER_HOST:LEDGER_PORT (127.0.0.1:8000), supervised: if the gateway process dies (a non-zero
# exit or a signal it does not handle) it is started again while the chain keeps running; a clean
# exit (status 0: it was asked to stop) stops the chain too. Ctrl-C (SIGINT) or SIGTERM stops the
# gateway, then the chain (which saves its state first), and so does the chain stopping under
# it; the next `make run` resumes where it stopped. Each step shows its progress and its time
# (tools/steps.sh), then the banner gives the real URLs once the gateway is healthy.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
# a fresh clone has no toolchain yet: `make run` installs it first (tools/setup.sh), this script
# alone does not
if ! command -v anvil > /dev/null || [ ! -x .venv/api/bin/ledger ]; then
  echo "run: the toolchain is not installed (no anvil, or no .venv/api):" \
    "run \`make setup\` first, or \`make run\`, which does" >&2
  exit 1
fi
asked_rpc_url="${LEDGER_RPC_URL:-}"
source tools/defaults.sh
# `make run` runs its own chain: a LEDGER_RPC_URL left exported from a deploy elsewhere ran the
# gateway against that node while the banner named it and the embedded chain got the contracts
# (a new user's trial)
case "${asked_rpc_url%/}" in
  "" | "http://127.0.0.1:$LEDGER_CHAIN_PORT" | "http://localhost:$LEDGER_CHAIN_PORT") ;;
  *)
    echo "error: invalid_settings: LEDGER_RPC_URL: \`make run\` runs its own chain (LEDGER_CHAIN_PORT" \
      "$LEDGER_CHAIN_PORT), not '$asked_rpc_url': unset LEDGER_RPC_URL, or run the gateway" \
      "against that node with \`.venv/api/bin/ledger serve\` (README \"Deploy to a network\")" >&2
    exit 2
    ;;
esac
source tools/steps.sh
# made here when missing, and removed again (if still empty) when a setting is refused: a
# refused run leaves nothing behind (a trial found an empty data folder)
[ -d "$LEDGER_DATA_DIR" ] && made_data_dir=0 || made_data_dir=1
mkdir -p "$LEDGER_DATA_DIR"
# a LEDGER_* value the settings refuse, said by name before anything starts (it surfaced as
# "migrate the database failed", after the chain had started and the contracts deployed)
# The embedded chain's knobs are read by tools/chain.sh, not by the gateway's settings:
# checked here alike ("inf" meant no snapshots at all, 0 one every 0.2 s).
setting_refused() {  # NAME VALUE WHAT: the gateway's one-line form, exit status 2
  echo "error: invalid_settings: $1: $3, not '$2'" >&2
  return 2
}
number_between() {  # NAME DEFAULT LOW HIGH: a decimal number of seconds within [LOW, HIGH]
  local value="${!1:-$2}"
  if ! [[ "$value" =~ ^[0-9]+([.][0-9]+)?$ ]] \
    || ! awk -v v="$value" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v >= lo && v <= hi) }'; then
    setting_refused "$1" "$value" "seconds from $3 to $4"
  fi
}
whole_between() {  # NAME DEFAULT LOW HIGH: a whole number within [LOW, HIGH]
  local value="${!1:-$2}"
  if ! [[ "$value" =~ ^[0-9]{1,6}$ ]] || (( 10#$value < $3 || 10#$value > $4 )); then
    setting_refused "$1" "$value" "a whole number from $3 to $4"
  fi
}
units_per_usd() {  # the deploy's: checked here too, before the chain starts (scripts/deploy.py)
  local value="${LEDGER_SETTLEMENT_UNITS_PER_USD:-1000000}"
  [[ "$value" =~ ^[0-9]{1,60}$ && "$value" =~ [1-9] ]] \
    || setting_refused LEDGER_SETTLEMENT_UNITS_PER_USD "$value" \
      "the settlement token's units worth 1 USD, a whole number from 1 (1000000 for 6 decimals)"
}
check_chain_settings() {
  number_between LEDGER_BLOCK_TIME 1 0 3600 \
    && number_between LEDGER_CHAIN_SNAPSHOT_S 5 1 604800 \
    && whole_between LEDGER_CHAIN_SNAPSHOTS 3 1 1000 \
    && whole_between LEDGER_CHAIN_PORT 8645 1 65535 \
    && units_per_usd
}
check_settings() { check_chain_settings && .venv/api/bin/ledger info > /dev/null; }
if ! step "check the settings" check_settings; then
  [ "$made_data_dir" = 0 ] || rmdir "$LEDGER_DATA_DIR" 2>/dev/null || true
  echo "run: fix the setting above" >&2
  exit 2
fi

started_chain=0
chain_pid=""  # the chain supervisor this run started: the only one its exit stops
[ -f "$LEDGER_DATA_DIR/chain.pid" ] && kill -0 "$(cat "$LEDGER_DATA_DIR/chain.pid")" 2>/dev/null || started_chain=1
gateway=""
watcher=""
stopping=0
stop_chain() {
  if [ -n "$watcher" ]; then kill "$watcher" 2>/dev/null || true; fi
  if [ -n "$gateway" ] && kill -0 "$gateway" 2>/dev/null; then
    kill -TERM "$gateway" 2>/dev/null || true
    wait "$gateway" 2>/dev/null || true
  fi
  # only the supervisor this run started, and its pid file only while it names it: a chain
  # another run started since (this one's died) is that run's
  if [ -n "$chain_pid" ]; then
    kill -TERM "$chain_pid" 2>/dev/null || true  # the supervisor saves the state, then stops anvil
    for _ in $(seq 1 1200); do kill -0 "$chain_pid" 2>/dev/null || break; sleep 0.1; done
    if [ "$(cat "$LEDGER_DATA_DIR/chain.pid" 2>/dev/null)" = "$chain_pid" ]; then
      rm -f "$LEDGER_DATA_DIR/chain.pid"
    fi
  fi
  # a run refused before it started anything leaves no data folder it made (a trial: the
  # two-ports refusal left an empty one): its lock file goes, then the folder if empty
  if [ "$made_data_dir" = 1 ] && [ -z "$chain_pid" ] && [ -z "$gateway" ]; then
    rm -f "$LEDGER_DATA_DIR/run.lock"
    rmdir "$LEDGER_DATA_DIR" 2>/dev/null || true
  fi
}
trap stop_chain EXIT
on_signal() {
  stopping=1
  [ -n "$gateway" ] && kill -TERM "$gateway" 2>/dev/null || true
}
trap on_signal INT TERM

HOST="${LEDGER_HOST:-127.0.0.1}"
PORT="${LEDGER_PORT:-8000}"
URL_HOST="$HOST"
case "$HOST" in 0.0.0.0 | "::" | "") URL_HOST=127.0.0.1 ;; esac
URL="http://$URL_HOST:$PORT"
run_started="$(_step_now)"
echo "run: chain $LEDGER_RPC_URL, gateway $URL, data $LEDGER_DATA_DIR" >&2
if [ "$PORT" = "$LEDGER_CHAIN_PORT" ]; then
  echo "run: LEDGER_PORT and LEDGER_CHAIN_PORT are both $PORT: the gateway and the chain" \
    "need a port each" >&2
  exit 1
fi
if (exec 3<>"/dev/tcp/$URL_HOST/$PORT") 2>/dev/null; then
  # another process (another `make run`?) serves that port: the health check would reach it
  echo "run: $URL_HOST:$PORT is already in use: stop what listens there, or set LEDGER_PORT" \
    "(and LEDGER_CHAIN_PORT and LEDGER_DATA_DIR for a second gateway beside the first)" >&2
  exit 1
fi
# one run per data folder, from its first step: this shell holds a lock on the folder's
# `run.lock` for its life (two runs started a second apart both came up on one database, a
# trial: the pid file below is written only once the gateway starts); the chain and the
# gateway do not inherit it (`9>&-`), so a chain left running by a killed run is not a run
exec 9>> "$LEDGER_DATA_DIR/run.lock"
if ! flock -n 9; then
  echo "run: another \`make run\` of this data folder is starting or running" \
    "($LEDGER_DATA_DIR/run.lock): stop it first, or set LEDGER_DATA_DIR (and LEDGER_PORT and" \
    "LEDGER_CHAIN_PORT) for a second system beside it" >&2
  exit 1
fi
# one gateway per data folder: a second `make run` of the folder on another LEDGER_PORT had
# served a second gateway on the same database (a trial); a stale pid file, or its pid now
# another program's, does not count
running="$(cat "$LEDGER_DATA_DIR/gateway.pid" 2>/dev/null || true)"
if [ -n "$running" ] && kill -0 "$running" 2>/dev/null \
  && tr '\0' ' ' < "/proc/$running/cmdline" 2>/dev/null | grep -q "ledger serve"; then
  echo "run: a gateway of this data folder already runs (pid $running, in" \
    "$LEDGER_DATA_DIR/gateway.pid): stop its \`make run\` first, or set LEDGER_DATA_DIR (and" \
    "LEDGER_PORT and LEDGER_CHAIN_PORT) for a second system beside it" >&2
  exit 1
fi
# before the chain: a database this run cannot open (another keystore passphrase: refused
# with `key_passphrase_mismatch`) stops it with nothing started
migrate() {
  .venv/api/bin/ledger db upgrade > "$LEDGER_DATA_DIR/migrate.log" 2>&1 \
    || { cat "$LEDGER_DATA_DIR/migrate.log" >&2; return 1; }
}
step "migrate the database" migrate
# the chain this run starts is stopped by its exit also when a later step of chain.sh fails
# (a deploy refused: a trial's `make run` left the chain running, its parent gone)
chain_status=0
bash tools/chain.sh > /dev/null 9>&- || chain_status=$?
started="$(cat "$LEDGER_DATA_DIR/chain.pid" 2>/dev/null || true)"
if [ "$started_chain" = 1 ] && [ -n "$started" ] \
  && tr '\0' ' ' < "/proc/$started/cmdline" 2>/dev/null | grep -q chain_supervisor; then
  chain_pid="$started"
fi
[ "$chain_status" = 0 ] || exit "$chain_status"
watch_chain() {
  # A Ctrl-C reaches the whole process group, the chain's supervisor included (it saves the
  # state and stops), but this shell acts on it only if its foreground program died of it: one
  # that handled it (a Python step) made bash discard it, and the gateway then started on a
  # stopped chain and waited for it forever. The chain this run started stopping stops the run.
  # The watcher must outlive that Ctrl-C: a subshell resets the trapped SIGINT to its default.
  trap '' INT
  while kill -0 "$1" 2>/dev/null; do sleep 1; done
  echo "run: the chain stopped; stopping the gateway" >&2
  kill -TERM $$ 2>/dev/null || true
}
if [ -n "$chain_pid" ]; then
  watch_chain "$chain_pid" 9>&- &
  watcher=$!
fi

healthy() {  # until the gateway answers its health check with "ok" (or its process is gone)
  # the port first, without a request (no access-log line per try), then the health check;
  # a health that is not "ok" a minute after the port opened (e.g. "degraded": a brand's keys
  # sealed with another passphrase, that brand waits and the others run) is said, and the
  # gateway counts as up (it waited for "ok" for good: a new user's trial)
  # A gateway gone because of a Ctrl-C (the trap set `stopping`) is a stop, said as one (130:
  # "stopped by SIGINT"), not "failed (status 1)" (a trial).
  until (exec 3<>"/dev/tcp/$URL_HOST/$PORT") 2>/dev/null; do
    kill -0 "$1" 2>/dev/null || return $(( stopping ? 130 : 1 ))
    sleep 0.2
  done
  local answered=$SECONDS
  until curl -s -m 2 "$URL/v1/health" 2>/dev/null | grep -q '"status":"ok"'; do
    kill -0 "$1" 2>/dev/null || return $(( stopping ? 130 : 1 ))
    (( SECONDS - answered >= 60 )) && return 0  # said after the step (below)
    sleep 1
  done
}
banner() {
  # another terminal's `./ledger` finds this system with the same settings (a trial's `./ledger
  # info` looked at the default ports and data folder)
  local cli="./ledger" shown_db
  # the password out of sight (a trial saw it in the banner); the command names the database
  # when it is not the data folder's (a trial's `./ledger brand add` after a move to PostgreSQL
  # used the old SQLite one and onboarded a brand the gateway never knew)
  shown_db=$(sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<< "$LEDGER_DATABASE_URL")
  [ "$LEDGER_DATABASE_URL" = "sqlite:///$LEDGER_DATA_DIR/ledger.db" ] ||
    cli="LEDGER_DATABASE_URL='$shown_db' $cli"
  [ "$LEDGER_DATA_DIR" = "$ROOT/data" ] || cli="LEDGER_DATA_DIR=$LEDGER_DATA_DIR $cli"
  [ "$LEDGER_CHAIN_PORT" = 8645 ] || cli="LEDGER_CHAIN_PORT=$LEDGER_CHAIN_PORT $cli"
  [ "$PORT" = 8000 ] || cli="LEDGER_PORT=$PORT $cli"
  cat <<TXT

  chain     $LEDGER_RPC_URL (anvil, chain id 31337; state snapshots in $LEDGER_DATA_DIR/chain-state)
  contracts $LEDGER_MANIFEST
  database  $shown_db
  gateway   $URL  (OpenAPI: $URL/docs, ReDoc: $URL/redoc)

  Add a brand (prints its API key once), in another terminal:
      $cli brand add "Acme Outdoor"
  (the brands there are already: $cli brand list), then call the API with it, e.g.:
      curl -s $URL/v1/health
  The admin's API key (for /v1/admin/*; prints a new one, once):
      $cli admin-key create
TXT
  [ "$shown_db" = "$LEDGER_DATABASE_URL" ] || echo "  (with the database's password in place of ***)"
  echo
}
first=1
never_answered=0
backoff=1
while [ "$stopping" = 0 ]; do
  started=$SECONDS
  .venv/api/bin/ledger serve 9>&- &
  gateway=$!
  echo "$gateway" > "$LEDGER_DATA_DIR/gateway.pid"
  if [ "$first" = 1 ]; then
    first=0
    if step "start the gateway on $URL (until healthy, or 60 s after it answers)" healthy "$gateway"; then
      echo "run: ready in $(_step_secs "$run_started") s" >&2
      if ! curl -s -m 2 "$URL/v1/health" 2>/dev/null | grep -q '"status":"ok"'; then
        echo "run: the gateway runs, but its health is not ok: see its log above;" \
          "the admin's GET /v1/health says which part" >&2
      fi
      banner
    else
      never_answered=1
    fi
  fi
  # `wait` returns early (status > 128) when a trapped signal arrives: wait again until the
  # gateway is gone; the wait that saw it end gives its exit status
  while :; do
    status=0
    wait "$gateway" || status=$?
    kill -0 "$gateway" 2>/dev/null || break
  done
  gateway=""
  rm -f "$LEDGER_DATA_DIR/gateway.pid"
  [ "$stopping" = 1 ] && break
  if [ "$status" = 0 ]; then
    # a clean exit is a stop someone asked for (uvicorn's answer to SIGINT: e.g. a Ctrl-C to the
    # process group that this shell did not see, because a background job of a non-interactive
    # shell ignores SIGINT and cannot trap it): stop the chain too, do not start it again
    echo "run: the gateway stopped (status 0); stopping the chain" >&2
    break
  fi
  if [ "$never_answered" = 1 ]; then
    # it never answered its first health check: a setting or the port (taken since the check
    # above), which starting it again would not change; the chain stops too (the EXIT trap)
    echo "run: the gateway did not start (status $status): see its output above" >&2
    exit 1
  fi
  (( SECONDS - started > 60 )) && backoff=1
  echo "run: the gateway exited (status $status); starting it again in ${backoff}s" >&2
  sleep "$backoff" & wait $! || true
  backoff=$(( backoff < 30 ? backoff * 2 : 30 ))
done
