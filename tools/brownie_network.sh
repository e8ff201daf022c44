# Sourced by tools/chain.sh and tools/deploy.sh: registers a brownie network of this project.
# Every name the project creates starts with `alliance-`, so it never collides with brownie's
# built-in networks (`sepolia`, `mainnet`, `anvil`, ...).

# brownie_network live NAME URL CHAIN_ID   a live (non-development) network at URL
# brownie_network dev NAME PORT            a development network attached to anvil on PORT
brownie_network() {
  # brownie rewrites the file in place: the change holds its lock exclusive, as every reader
  # holds it shared (tools/brownie_run.py), so two deploys at once do not read it half written
  mkdir -p "$HOME/.brownie"
  (
    # said when it waits (a new user's trial: `make run` was silent for 80 s behind another
    # clone's compile, which held the lock shared)
    flock -n -x 9 || {
      echo "waiting for brownie's network list (~/.brownie/network-config.lock), held by" \
        "another deploy or compile of this user" >&2
      flock -x 9
    }
    brownie_network_locked "$@"
  ) 9>>"$HOME/.brownie/network-config.lock"
}

brownie_network_locked() {
  local kind="$1" name="$2" config="$HOME/.brownie/network-config.yaml"
  case "$name" in alliance-*) ;; *) echo "brownie network names of this project start with alliance-: $name" >&2; return 2 ;; esac
  local verb=add
  grep -q "id: $name\$" "$config" 2>/dev/null && verb=modify
  if [ "$kind" = live ]; then
    if [ "$verb" = add ]; then
      .venv/brownie/bin/brownie networks add Alliance "$name" host="$3" chainid="$4" > /dev/null
    else
      .venv/brownie/bin/brownie networks modify "$name" host="$3" chainid="$4" > /dev/null
    fi
  elif [ "$verb" = add ]; then
    .venv/brownie/bin/brownie networks add Development "$name" cmd=anvil \
      host=http://127.0.0.1 port="$3" accounts=10 > /dev/null
  fi
  # a provider's URL carries its API key: the file holding it is the user's alone (brownie
  # writes it readable by all: a trial)
  chmod 600 "$config" 2>/dev/null || true
}
